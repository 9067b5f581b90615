"""polyfill_expected.py — the prompts llama-server (llama.cpp c392e50,
--jinja) renders for tests/serve/polyfill's requests with each template
there (and tests/serve's chat.jinja and tools.jinja, and none: its chatml
fallback), on the default model: tests/serve/polyfill/expected.json, which
the serve test compares heed serve's POST /apply-template with (what minja
probes a template for and rewrites the messages to, and each tool format's
additions). Run by hand when the requests or templates change:

    /usr/bin/python3 scripts/polyfill_expected.py LLAMA_SERVER
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "tests", "serve", "polyfill")
TEMPLATES = {"none": None, "nosystem": "nosystem.jinja", "strargs": "strargs.jinja",
             "typed": "typed.jinja", "deepseek": "deepseek.jinja", "chat": "../chat.jinja",
             "hermes": "../tools.jinja"}


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())["prompt"]
    except urllib.error.HTTPError:
        return None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    requests = json.load(open(os.path.join(HERE, "requests.json")))
    expected = {}
    for name, tmpl in TEMPLATES.items():
        cmd = [sys.argv[1], "-m", os.path.join(ROOT, "models", "default.gguf"), "--jinja",
               "--port", "18931", "-c", "2048", "-t", "1"]
        if tmpl:
            cmd += ["--chat-template-file", os.path.join(HERE, tmpl)]
        log = open("/tmp/polyfill_expected.log", "w+")
        proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        for _ in range(300):
            log.seek(0)
            if re.search("server is listening", log.read()):
                break
            time.sleep(0.1)
        expected[name] = {r: post("http://127.0.0.1:18931/apply-template", body)
                          for r, body in requests.items()}
        proc.terminate()
        proc.wait()
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
