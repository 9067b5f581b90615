"""jinja_real.py — renders real chat templates with heed and with jinja2
(as Hugging Face does) for three conversations and reports how many are
byte-identical.

    /usr/bin/python3 scripts/jinja_real.py DIR [HEED]   (HEED: build/heed)

DIR holds *.jinja files (llama.cpp's models/templates, say). The
conversations: a plain chat with a system message; tools, with an
assistant's tool call and the tool's result; a multi-turn chat. Each pair
is counted as identical, as failing in both (jinja2 cannot render it
either), or as a difference, listed with the first differing byte.
Needs python3-jinja2 (Debian's, the reference).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jinja_hf  # noqa: E402

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}]

CHATS = {
    "plain": ([
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello! What can you do?"},
        {"role": "assistant", "content": "I can answer questions and help with tasks."},
        {"role": "user", "content": "Write a haiku about the sea."},
    ], None),
    "tools": ([
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{
            "id": "call12345", "type": "function",
            "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
        }]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
         "content": "{\"temperature\": 18.5, \"sky\": \"cloudy\"}"},
    ], TOOLS),
    "multiturn": ([
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello, how can I help?"},
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4."},
        {"role": "user", "content": "And times 3?"},
    ], None),
}

BOS, EOS = "<s>", "</s>"


def heed_render(heed, path, messages, tools, tmp):
    mpath, tpath = os.path.join(tmp, "m.json"), os.path.join(tmp, "t.json")
    with open(mpath, "w") as f:
        json.dump(messages, f)
    cmd = [heed, "template", "--template-file", path, "--messages", mpath, "--bos", BOS,
           "--eos", EOS]
    if tools is not None:
        with open(tpath, "w") as f:
            json.dump(tools, f)
        cmd += ["--tools", tpath]
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode:
        return ("error", p.stderr.decode(errors="replace").strip())
    return ("ok", p.stdout.decode())


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    heed = sys.argv[2] if len(sys.argv) > 2 else "build/heed"
    os.environ.setdefault("HEED_TEMPLATE_NOW", "1721952000")  # 26 Jul 2024
    os.environ.setdefault("TZ", "UTC")
    same = both_fail = 0
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.jinja"))):
            source = open(path, encoding="utf-8").read()
            for name, (messages, tools) in CHATS.items():
                ctx = {"messages": messages, "tools": tools, "add_generation_prompt": True,
                       "bos_token": BOS, "eos_token": EOS}
                ref = jinja_hf.render(source, ctx)
                got = heed_render(heed, path, messages, tools, tmp)
                label = f"{os.path.basename(path)} [{name}]"
                if ref[0] == "error" and got[0] == "error":
                    both_fail += 1
                elif ref[0] == "ok" and got[0] == "ok" and ref[1] == got[1]:
                    same += 1
                elif ref[0] == "error":
                    diffs.append(f"{label}: jinja2 fails ({ref[2]}), heed renders")
                elif got[0] == "error":
                    diffs.append(f"{label}: heed fails: {got[1]}")
                else:
                    a, b = ref[1].encode(), got[1].encode()
                    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]),
                             min(len(a), len(b)))
                    diffs.append(f"{label}: first difference at byte {i}: jinja2 "
                                 f"{a[max(0, i - 20):i + 20]!r} heed {b[max(0, i - 20):i + 20]!r}")
    total = same + both_fail + len(diffs)
    print(f"{same} of {total} renders byte-identical, {both_fail} fail in jinja2 and heed alike, "
          f"{len(diffs)} differ")
    for d in diffs:
        print("  " + d)
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
