"""``setup/parse [--profile PROFILE.json] FILE...``: print each file as parsed.

One JSON document per file, on its own line group: bank statements as
``{"file", "format", "statements"}``, PayPal reports and Stripe objects as
``{"file", "format", "transactions"}`` (see ``gateway``); an unreadable file
prints ``{"file", "error", "code", "line"}`` (and ``"element"`` for XML and
JSON) and the command exits 2 at the end. Nothing is imported into Odoo.
"""

import argparse
import json
import sys
from pathlib import Path

from . import ParseError, gateway, parse_file, result_to_json


def _error_document(filename, err):
    document = {"file": filename, "error": err.message, "code": err.code, "line": err.line}
    if err.element:
        document["element"] = err.element
    return document


def _emit(document):
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup/parse", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", help="CSV/XLSX mapping profile (a JSON object)")
    parser.add_argument("files", nargs="+", help="bank statements, PayPal reports, Stripe JSON")
    args = parser.parse_args(argv)
    profile = None
    if args.profile:
        try:
            profile = json.loads(Path(args.profile).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            _emit({"file": args.profile, "error": f"unreadable profile: {err}"})
            return 2
    status = 0
    for name in args.files:
        try:
            data = Path(name).read_bytes()
            if gateway.sniff(data):
                document = gateway.parse(data, name)
            else:
                document = result_to_json(parse_file(data, filename=name, profile=profile), name)
        except ParseError as err:
            document, status = _error_document(name, err), 2
        except OSError as err:
            document, status = {"file": name, "error": str(err), "line": None}, 2
        _emit(document)
    return status


if __name__ == "__main__":
    sys.exit(main())
