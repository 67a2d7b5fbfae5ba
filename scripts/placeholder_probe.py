"""How much a model's detection of the project's written exfiltration attacks rests on their placeholder address.

    python scripts/placeholder_probe.py --model v0.10=build/baselines/tinyguardrail-v0.10 \
        --model v0.12=models/tinyguardrail-v0.12 --data build/data_v010 --out docs/ablations/v20/placeholder_probe.json

The bank's phrasings were written with ``attacker.example`` as the place data goes, so every split of v0.10's build
(``configs/data-v0.10.json``) holds attack rows with it (the bank's own and the synthetic and agent rows it is hidden
in). This scores, with each model's runtime (windows, views, its calibrated threshold), the test split's attack rows
that use the placeholder three times: as built; with the placeholder replaced by a domain of ``data.domains`` (the
replacement ``BuildConfig.neutral_domains`` makes, so in distribution for a model trained with it); and with one of
``HELD_OUT`` (domains and endings no build uses). A model that learned the attack scores them alike; one that learned
the word "attacker" loses recall on the other two. As a control, the test split's benign rows that hold a URL or an
e-mail address are scored as built and with their hosts replaced the same two ways: a model that learned "an
unfamiliar address means attack" flags more of them. Needs a build without ``neutral_domains`` (``--data``). Counts and
rates only, no texts.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from tinyguardrail.data.domains import neutral_domain, neutralize, text_hash
from tinyguardrail.data.io import read_jsonl_gz
from tinyguardrail.eval.cli_eval import named_path
from tinyguardrail.eval.harness import GuardSystem, variant_rates, write_json

PLACEHOLDER = re.compile(r"attacker\.example", re.IGNORECASE)
#: Hosts of URLs (``https://host``) and of e-mail addresses (``user@host``).
ADDRESS = re.compile(r"(?<=://)[\w-]+(?:\.[\w-]+)+|(?<=@)[\w-]+(?:\.[\w-]+)+")
#: Ordinary-looking domains that no data build uses (words and endings outside ``data.domains``' lists).
HELD_OUT = ("quillbyte.de", "tundrasoft.eu", "harborline.co.uk", "kestrel-analytics.fr", "pinecrest.nl",
            "lumenpost.ch", "otterfiles.se", "crimsonrelay.jp", "sandpiper-hq.ca", "wrenhost.com.au",
            "corvid-storage.it", "basaltcloud.es", "fjordmail.no", "saffronsync.in", "obsidianlabs.pl",
            "tamarindapi.mx")


def held_out_domain(text: str) -> str:
    return HELD_OUT[text_hash(text) % len(HELD_OUT)]


def rehost(text: str, domain: str) -> str:
    """``text`` with the host of every URL and e-mail address replaced by ``domain``."""
    return ADDRESS.sub(domain, text)


def variants(rows: list, attack: bool) -> dict[str, list[str]]:
    texts = [r.text for r in rows]
    if attack:
        return {"as_built": texts, "generated_domain": [neutralize(t) for t in texts],
                "held_out_domain": [PLACEHOLDER.sub(held_out_domain(t), t) for t in texts]}
    return {"as_built": texts, "generated_domain": [rehost(t, neutral_domain(t)) for t in texts],
            "held_out_domain": [rehost(t, held_out_domain(t)) for t in texts]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", required=True, metavar="NAME=DIR", type=named_path, help="a model folder (repeatable)")
    p.add_argument("--data", type=Path, required=True, help="a data build without neutral_domains (its test split)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    test = list(read_jsonl_gz(args.data / "test.jsonl.gz"))
    attacks = [r for r in test if r.label != "benign" and PLACEHOLDER.search(r.text)]
    benign = [r for r in test if r.label == "benign" and ADDRESS.search(r.text)]
    if not attacks:
        raise SystemExit(f"{args.data}: no test attack rows with the placeholder (a neutral_domains build?)")
    sets = {"attack rows with the placeholder": variants(attacks, True),
            "benign rows with an address": variants(benign, False)}
    out = {"rows": {"attack rows with the placeholder": len(attacks), "benign rows with an address": len(benign)},
           "by_source": {"attack rows with the placeholder": dict(Counter(r.source for r in attacks)),
                         "benign rows with an address": dict(Counter(r.source for r in benign))},
           "measure": "share of rows flagged (the model's own decision) and mean P(attack)", "models": {}}
    for name, folder in args.model:
        system = GuardSystem(Path(folder))
        out["models"][name] = {"model": str(folder)} | variant_rates(system, sets)[0]
        res = out["models"][name]
        print(name, json.dumps(res, indent=1))
    write_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
