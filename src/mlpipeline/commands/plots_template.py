"""Write the HTML page template `dvc plots show` uses, with the Vega libraries inlined.

DVC's default page loads Vega from a CDN, so it renders nothing offline. `make setup` writes
this template from the locked vl-convert-python (which ships the bundle) and .dvc/config points
`plots.html_template` at it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlpipeline.adapters.files import write_text
from mlpipeline.errors import run_main

DEFAULT_OUT = Path(".dvc/plots_offline.html")
# DVC's plot templates are Vega-Lite v5 specs; render them with the newest v5 vl-convert ships.
VEGA_LITE = "5.21"

PAGE = """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  {refresh_tag}
  <title>Model plots</title>
  <script>
{bundle}
  </script>
  <style>table { border-spacing: 15px; } body { font-family: sans-serif; }</style>
</head>
<body>
  {plot_divs}
</body>
</html>
"""


def page() -> str:
    """The template text: DVC fills {plot_divs} and {refresh_tag}; there is no {scripts} slot."""
    import vl_convert

    # A literal "</script" inside the bundle would end the inline script early. Nothing else in
    # the bundle may change: DVC substitutes its placeholders literally, so braces need no escaping.
    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE).replace("</script", "<\\/script")
    return PAGE.replace("{bundle}", bundle, 1)


def main() -> int:
    """Write the template (default: .dvc/plots_offline.html)."""
    parser = argparse.ArgumentParser(prog="python -m mlpipeline.commands.plots_template")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    write_text(args.out, page())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
