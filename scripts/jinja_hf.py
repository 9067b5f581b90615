"""jinja_hf.py — jinja2 set up as Hugging Face's apply_chat_template sets it
up (transformers' chat_template_utils): ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks, loop controls and the {% generation %} tag,
tojson as json.dumps(ensure_ascii=False, ...), raise_exception and
strftime_now. The reference heed's Jinja interpreter is compared with
(scripts/jinja_expected.py, scripts/jinja_real.py).

strftime_now reads HEED_TEMPLATE_NOW (seconds since the epoch) when set, as
heed does, in local time (run both with the same TZ).
"""
import json
import os
import traceback
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


class AssistantTracker(Extension):
    """HF's {% generation %}: its body, rendered as a call block's."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        call = self.call_method("_render", [])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def strftime_now(fmt):
    now = os.environ.get("HEED_TEMPLATE_NOW")
    t = datetime.fromtimestamp(int(now)) if now else datetime.now()
    return t.strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                       extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def template_line(exc):
    """The template line an exception points at (None if unknown: Python's
    own SyntaxError, which jinja2 raises for break outside a loop, names a
    line of the code it generated)."""
    if isinstance(exc, SyntaxError) and not isinstance(exc, jinja2.TemplateSyntaxError):
        return None
    line = getattr(exc, "lineno", None)
    if line:
        return line
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return None


def render(source, context):
    """("ok", text) or ("error", line, message)."""
    try:
        return ("ok", environment().from_string(source).render(**context))
    except Exception as e:  # jinja2 raising is a result to compare
        return ("error", template_line(e), f"{type(e).__name__}: {e}")
