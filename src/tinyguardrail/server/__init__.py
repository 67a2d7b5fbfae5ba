"""The HTTP server (``tinyguardrail serve``; needs the ``[serve]`` extra).

``app`` builds the FastAPI app and its routes; ``body`` parses request bodies with bounded nesting and numbers;
``batcher`` gathers concurrent requests into one inference call; ``explain`` locates the deciding window;
``metrics``, ``middleware``, ``errors``, ``schemas`` and ``settings`` do what they say; ``demo`` serves the page
at ``/`` from ``static/``; ``cli_serve`` is the command.
"""
