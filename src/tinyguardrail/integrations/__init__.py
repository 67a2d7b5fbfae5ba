"""Adapters that put TinyGuardrail inside other frameworks (issue 12, "drop into what users already run").

Each adapter is its own module and imports its framework only when that module is imported, so
``import tinyguardrail.integrations`` costs nothing and needs no third-party package:

- :mod:`tinyguardrail.integrations.langchain`: a LangChain ``Runnable`` guard and a LangChain v1 agent middleware
  that scans tool results (``pip install 'tinyguardrail[langchain]'``).
- :mod:`tinyguardrail.integrations.litellm`: a LiteLLM ``CustomGuardrail`` the proxy loads in process
  (``pip install 'tinyguardrail[litellm]'``); :mod:`tinyguardrail.integrations.generic_guardrail` holds the block rule
  it shares with the server's LiteLLM endpoint (no dependency).
- :mod:`tinyguardrail.integrations.errors`: :class:`~tinyguardrail.integrations.errors.PromptInjectionError`, the
  exception the adapters raise on an attack (no dependency).
"""
