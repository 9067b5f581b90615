"""tools_real.py — a 3-step agent loop through heed serve on each real chat
template: the model calls a tool twice (tool_choice "required"), each
result is fed back, and it answers in text (tool_choice "none"). Each
step's prompt, as heed serve renders it (POST /apply-template), is compared
with llama-server's (llama.cpp c392e50 with --jinja: minja, its
capability probes and polyfills, each format's handler) on the same
model and template; each call must parse into a tool whose arguments
validate against its schema.

    /usr/bin/python3 scripts/tools_real.py DIR LLAMA_SERVER [HEED]   (HEED: build/heed)

DIR holds *.jinja files (llama.cpp's models/templates, say). The model is
heed synth's tiny-chat (random weights: the grammar makes its calls; its
vocabulary holds the formats' markers as control tokens). Not part of
make test: the templates are the models' own, not heed's.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"],
                         "description": "The city."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
                         "description": "The unit of temperature."},
            },
            "required": ["city"],
        },
    },
}, {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The time in a zone.",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "integer", "minimum": -12, "maximum": 14,
                                    "description": "Hours from UTC."}},
            "required": ["zone"],
        },
    },
}]


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def valid(call):
    """Why call is not a valid call of TOOLS, or None."""
    fn = call.get("function", {})
    tool = next((t["function"] for t in TOOLS if t["function"]["name"] == fn.get("name")), None)
    if not tool:
        return f"no tool {fn.get('name')!r}"
    try:
        args = json.loads(fn.get("arguments", ""))
    except ValueError:
        return f"arguments {fn.get('arguments')!r} are not JSON"
    props = tool["parameters"]["properties"]
    for k in tool["parameters"]["required"]:
        if k not in args:
            return f"{k} missing from {args}"
    for k, v in args.items():
        p = props.get(k)
        if p is None or ("enum" in p and v not in p["enum"]) or (
                p.get("type") == "integer" and
                (not isinstance(v, int) or not p["minimum"] <= v <= p["maximum"])):
            return f"{k}: {v!r} does not fit {p}"
    return None


def agent_loop(url, ref_url):
    """(steps done, renders identical, renders both fail, problem or None)."""
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the weather in Paris, and the time there?"}]
    same = ref_fails = 0
    # a template that opens a reasoning block leaves closing it to the
    # model: a random one is nudged to close it soon
    _, tok = post(f"{url}/tokenize", {"content": "</think>"})
    bias = {str(tok["tokens"][0]): 8} if len(tok.get("tokens", [])) == 1 else {}
    for step in range(3):
        req = {"messages": messages, "tools": TOOLS, "seed": 7 + step, "temperature": 1,
               "tool_choice": "required" if step < 2 else "none",
               "max_tokens": 300 if step < 2 else 8, "logit_bias": bias}
        status, rendered = post(f"{url}/apply-template", req)
        ref_status, ref = post(f"{ref_url}/apply-template", req)
        if status != 200 and ref_status != 200:
            return step, same, ref_fails + 1, None
        if status != 200 or ref_status != 200 or ref["prompt"] != rendered["prompt"]:
            if status != 200 or ref_status != 200:
                return step, same, ref_fails, (f"step {step}: heed {status} {rendered}, "
                                               f"llama-server {ref_status} {ref}")
            a, b = ref["prompt"].encode(), rendered["prompt"].encode()
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            return step, same, ref_fails, (f"step {step}: the prompt differs at byte {i}: "
                                           f"llama-server {a[max(0, i - 30):i + 30]!r} heed "
                                           f"{b[max(0, i - 30):i + 30]!r}")
        same += 1
        status, r = post(f"{url}/v1/chat/completions", req)
        if status != 200:
            return step, same, ref_fails, f"step {step}: {status}: {r.get('error')}"
        choice = r["choices"][0]
        msg = choice["message"]
        if step == 2:
            if msg.get("tool_calls") or not isinstance(msg.get("content"), str):
                return step, same, ref_fails, f"step 2 should answer in text: {msg}"
            return 3, same, ref_fails, None
        calls = msg.get("tool_calls") or []
        if choice["finish_reason"] != "tool_calls" or len(calls) != 1:
            return step, same, ref_fails, f"step {step}: not one call: {choice}"
        why = valid(calls[0])
        if why:
            return step, same, ref_fails, f"step {step}: {why}"
        messages.append({"role": "assistant", "content": msg.get("content"),
                         "tool_calls": calls})
        result = {"get_weather": '{"sky": "clear", "temperature": 21}',
                  "get_time": '{"time": "14:05"}'}[calls[0]["function"]["name"]]
        messages.append({"role": "tool", "tool_call_id": calls[0]["id"],
                         "name": calls[0]["function"]["name"], "content": result})
    return 3, same, ref_fails, None


def start(cmd, log_path, pattern):
    """A server from cmd, and the port its log names (None if it died)."""
    log = open(log_path, "w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    for _ in range(300):
        log.seek(0)
        m = re.search(pattern, log.read())
        if m or proc.poll() is not None:
            return proc, m and m.group(1), log
        time.sleep(0.1)
    return proc, None, log


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    llama = sys.argv[2]
    heed = sys.argv[3] if len(sys.argv) > 3 else "build/heed"
    loops = same = both_fail = 0
    problems = []
    paths = sorted(glob.glob(os.path.join(sys.argv[1], "*.jinja")))
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "chat.gguf")
        subprocess.run([heed, "synth", "--shape", "tiny-chat", "--type", "f32", "-o", model],
                       check=True, capture_output=True)
        for path in paths:
            name = os.path.basename(path)
            srv, port, log = start([heed, "serve", model, "-c", "16384", "--port", "0",
                                    "--chat-template-file", path], os.path.join(tmp, "heed.log"),
                                   r"listening on http://[^:]+:(\d+)")
            ref, ref_port, ref_log = start(
                [llama, "-m", model, "--jinja", "--chat-template-file", path, "-c", "16384",
                 "--port", str(20000 + len(problems) + loops + both_fail), "-t", "1"],
                os.path.join(tmp, "llama.log"), r"server is listening on http://[^:]+:(\d+)")
            log.seek(0)
            fmt = re.search(r"\(tool calls: ([^)]+)\)", log.read())
            if not port or not ref_port:
                log.seek(0)
                ref_log.seek(0)
                problems.append(f"{name}: a server did not start: {log.read()[-300:]} "
                                f"{ref_log.read()[-300:]}")
                why, steps = problems[-1], 0
            else:
                steps, s, f, why = agent_loop(f"http://127.0.0.1:{port}",
                                              f"http://127.0.0.1:{ref_port}")
                same += s
                both_fail += f
                if why:
                    problems.append(f"{name}: {why}")
            for p in (srv, ref):
                p.terminate()
                p.wait()
            loops += steps == 3
            print(f"{name} ({fmt.group(1) if fmt else '?'}): {why or 'ok'}", flush=True)
    print(f"{loops} of {len(paths)} templates: 3 steps done (2 valid calls, results fed back, "
          f"an answer); {same} prompts identical to llama-server's, {both_fail} that both "
          f"refuse, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
