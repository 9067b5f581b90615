"""jinja_expected.py — writes what jinja2, set up as Hugging Face sets it up
(scripts/jinja_hf.py), renders for each test template in tests/jinja, for
the C test (tests/test_jinja.c) to compare heed's rendering with byte for
byte.

    /usr/bin/python3 scripts/jinja_expected.py

For NAME.jinja, the variables are NAME.json's, else context.json's; the
result goes to NAME.out (the text), or NAME.err when jinja2 raises (the
template line it names, then its message). strftime_now sees
HEED_TEMPLATE_NOW=1721952000 in UTC, as the C test sets them. The
reference is Debian's python3-jinja2 (3.1.2), as the issue names it:
another version may differ (3.1.5 refuses list.pop in the sandbox).
"""
import glob
import json
import os
import sys

os.environ["HEED_TEMPLATE_NOW"] = "1721952000"
os.environ["TZ"] = "UTC"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jinja2  # noqa: E402

import jinja_hf  # noqa: E402

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "jinja")


def main():
    if jinja2.__version__ != "3.1.2" and "--any-jinja2" not in sys.argv:
        sys.exit(f"jinja2 {jinja2.__version__} here; the reference is Debian's 3.1.2 "
                 "(/usr/bin/python3 with python3-jinja2), or pass --any-jinja2")
    with open(os.path.join(DIR, "context.json"), encoding="utf-8") as f:
        default = json.load(f)
    for old in glob.glob(os.path.join(DIR, "*.out")) + glob.glob(os.path.join(DIR, "*.err")):
        os.remove(old)
    n = errors = 0
    for path in sorted(glob.glob(os.path.join(DIR, "*.jinja"))):
        base = path[:-len(".jinja")]
        ctx = default
        if os.path.exists(base + ".json"):
            with open(base + ".json", encoding="utf-8") as f:
                ctx = json.load(f)
        with open(path, encoding="utf-8", newline="") as f:
            source = f.read()
        result = jinja_hf.render(source, ctx)
        if result[0] == "ok":
            with open(base + ".out", "w", encoding="utf-8", newline="") as f:
                f.write(result[1])
        else:
            errors += 1
            with open(base + ".err", "w", encoding="utf-8", newline="") as f:
                f.write(f"{result[1]}\n{result[2]}\n")
        n += 1
    print(f"{n} templates: {n - errors} rendered, {errors} raising")


if __name__ == "__main__":
    main()
