"""A fake `claude`, `codex` or `gemini`: prints the real tools' stream formats, or one of their
known failures. The tests write a tiny wrapper per tool name onto a PATH directory; the wrapper
sets ``TOOL`` and runs this file. Standard library only: it runs in the bridge's minimal
environment.

The scenario comes from ``FAKE_CLI_SCENARIO`` (default ``ok``), set through the provider's
``cli.env`` like any fixed variable. When ``FAKE_CLI_LOG`` names a directory, each run records
its argv, cwd, environment names and stdin there, and the hang/orphan scenarios record the pids
they leave behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TOOL: str = globals().get("TOOL", Path(sys.argv[0]).name)
ARGS = sys.argv[1:]
SCENARIO = os.environ.get("FAKE_CLI_SCENARIO", "ok")
LOG = os.environ.get("FAKE_CLI_LOG")
SIZE = int(os.environ.get("FAKE_CLI_BYTES", "0") or 0)

VERSIONS = {
    "claude": "2.0.73 (Claude Code)",
    "codex": "codex-cli 0.169.1",
    "gemini": "0.18.4",
}
HELP = {
    "claude": """Usage: claude [options] [command] [prompt]
Options:
  -p, --print                      Print response and exit (useful for pipes)
  --output-format <format>         "text", "json" or "stream-json"
  --verbose                        Override verbose mode setting from config
  --include-partial-messages       Include partial message chunks as they arrive
  --model <model>                  Model for the current session
  --effort <level>                 Effort level for the session (low, medium, high, xhigh, max)
  --append-system-prompt <prompt>  Append a system prompt to the default system prompt
  --permission-mode <mode>         Permission mode (acceptEdits, bypassPermissions, default, plan)
""",
    "codex": """Codex CLI
Usage: codex [OPTIONS] [PROMPT]
       codex [OPTIONS] <COMMAND> [ARGS]
Commands:
  exec        Run Codex non-interactively [aliases: e]
Options:
  -c, --config <key=value>  Override a configuration value
  -m, --model <MODEL>       Model the agent should use
""",
    "codex exec": """Run Codex non-interactively
Usage: codex exec [OPTIONS] [PROMPT]
Options:
      --json                  Print events to stdout as JSONL
  -s, --sandbox <SANDBOX_MODE>  [possible values: read-only, workspace-write]
      --skip-git-repo-check   Allow running Codex outside a Git repository
  -m, --model <MODEL>         Model the agent should use
""",
    "gemini": """Usage: gemini [options] [command]
Options:
  -m, --model           Model                                  [string]
  -p, --prompt          Prompt. Appended to input on stdin (if any).  [string]
  -o, --output-format   The format of the CLI output. [choices: "text", "json", "stream-json"]
      --approval-mode   Set the approval mode: default, auto_edit, yolo  [string]
""",
}


def out(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def chunks(text: str, size: int = 9) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def record(name: str, data: object) -> None:
    if LOG:
        path = Path(LOG) / f"{TOOL}-{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")


def sleeper(*, hold_stdout: bool) -> subprocess.Popen[bytes]:
    """A grandchild in the same process group that would outlive the tool."""
    code = (
        "import signal, time\n"
        + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if "ignore_term" in SCENARIO else "")
        + "while True: time.sleep(60)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-I", "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=None if hold_stdout else subprocess.DEVNULL,
        stderr=None if hold_stdout else subprocess.DEVNULL,
    )


def answer_text(prompt: str) -> str:
    first = next((line for line in prompt.splitlines() if line.strip()), "").strip()
    return (
        f"## {TOOL} via its CLI\n\n"
        f"FAKE-{TOOL.upper()}-ANSWER: read {len(prompt)} characters of prompt.\n\n"
        f"First line: {first[:80]}\n"
    )


# --- claude ----------------------------------------------------------------------------------


def claude(prompt: str) -> int:
    if "stream-json" in ARGS and "--verbose" not in ARGS:
        err("Error: When using --print, --output-format=stream-json requires --verbose\n")
        return 1
    if SCENARIO == "plain_text":
        print("Sure! Here is the answer, in plain text.")
        return 0
    if SCENARIO == "plain_thinking":  # output that talks about thinking, in the wrong format
        print("Thinking about the reasoning effort this needs...\nHere is the answer.")
        return 0
    partial = "--include-partial-messages" in ARGS
    out({"type": "system", "subtype": "init", "session_id": "s-1", "model": "claude-sonnet-5-5",
         "tools": ["Read", "Grep"]})  # fmt: skip
    if SCENARIO in ("hang", "hang_ignore_term"):
        return hang()
    if SCENARIO == "api_error":
        out({"type": "result", "subtype": "success", "is_error": True, "duration_ms": 812,
             "num_turns": 1, "session_id": "s-1", "total_cost_usd": 0.0007,
             "result": 'API Error: 529 {"type":"error","error":{"type":"overloaded_error",'
                       '"message":"Overloaded"}}',
             "usage": {"input_tokens": 90, "output_tokens": 0}})  # fmt: skip
        return 2
    if SCENARIO in CLAUDE_API_ERRORS:
        return claude_api_error(*CLAUDE_API_ERRORS[SCENARIO])
    if SCENARIO == "not_logged_in":
        out({"type": "result", "subtype": "success", "is_error": True, "session_id": "s-1",
             "result": "Invalid API key · Please run /login", "total_cost_usd": 0})  # fmt: skip
        return 1
    thinking = "The workspace is small; read it first, then answer."
    messages = [
        ("msg_1", thinking, "Let me look at the workspace.", {"file_path": "README.md"}),
        ("msg_2", "", answer_text(prompt), None),
    ]
    if SCENARIO == "huge":
        messages = [("msg_1", "", "x" * SIZE, None)]
    for mid, think, text, tool in messages:
        if partial:
            out({"type": "stream_event", "event": {"type": "message_start",
                 "message": {"id": mid, "model": "claude-sonnet-5-5"}}})  # fmt: skip
            for index, (kind, body) in enumerate([("thinking", think), ("text", text)]):
                for piece in chunks(body, 16384 if SCENARIO == "huge" else 9):
                    delta = {"type": f"{kind}_delta", kind: piece}
                    out({"type": "stream_event", "event": {"type": "content_block_delta",
                         "index": index, "delta": delta}})  # fmt: skip
        content: list[dict[str, Any]] = []
        if think:
            content.append({"type": "thinking", "thinking": think, "signature": "sig"})
        content.append({"type": "text", "text": text})
        if tool:
            content.append({"type": "tool_use", "id": "tu_1", "name": "Read", "input": tool})
        if SCENARIO != "huge":
            out({"type": "assistant", "parent_tool_use_id": None,
                 "message": {"id": mid, "model": "claude-sonnet-5-5", "content": content,
                             "usage": {"input_tokens": 600, "output_tokens": 200}}})  # fmt: skip
        if tool:
            result = {"type": "tool_result", "tool_use_id": "tu_1", "content": "# readme"}
            out({"type": "user", "message": {"content": [result]}})
        if SCENARIO == "truncated":
            return 0
    out({"type": "rate_limit_event", "rate_limit_info": {"status": "allowed"}})
    stop = "max_tokens" if SCENARIO == "max_tokens" else "end_turn"
    out({"type": "result", "subtype": "success", "is_error": False, "duration_ms": 2310,
         "stop_reason": stop,
         "duration_api_ms": 2200, "num_turns": 2, "result": answer_text(prompt),
         "session_id": "s-1", "total_cost_usd": 0.0123,
         "usage": {"input_tokens": 1200, "cache_creation_input_tokens": 100,
                   "cache_read_input_tokens": 300, "output_tokens": 420},
         "modelUsage": {"claude-sonnet-5-5": {"inputTokens": 1600,
                                                       "outputTokens": 420}}})  # fmt: skip
    return 0


# An API failure as Claude Code reports it: an assistant message with a top-level `error` and
# placeholder text (model "<synthetic>"), then a result with is_error and api_error_status.
CLAUDE_API_ERRORS: dict[str, tuple[int, str, str]] = {
    "api_429": (429, "rate_limit", 'API Error: 429 {"type":"error","error":{"type":'
                '"rate_limit_error","message":"This request would exceed the rate limit for your '
                'organization of 30,000 input tokens per minute."}}'),
    "api_401": (401, "authentication_failed", 'API Error: 401 {"type":"error","error":{"type":'
                '"authentication_error","message":"invalid x-api-key"}} · Please run /login'),
    "api_529": (529, "unknown", 'API Error: 529 {"type":"error","error":{"type":'
                '"overloaded_error","message":"Overloaded"}}'),
    "api_500": (500, "server_error", 'API Error: 500 {"type":"error","error":{"type":'
                '"api_error","message":"Internal server error"}}'),
}  # fmt: skip


def claude_api_error(status: int, code: str, text: str) -> int:
    out({"type": "assistant", "parent_tool_use_id": None, "session_id": "s-1", "error": code,
         "message": {"id": "msg_err", "type": "message", "role": "assistant",
                     "model": "<synthetic>", "content": [{"type": "text", "text": text}],
                     "stop_reason": "stop_sequence",
                     "usage": {"input_tokens": 0, "output_tokens": 0}}})  # fmt: skip
    out({"type": "result", "subtype": "success", "is_error": True, "duration_ms": 640,
         "num_turns": 1, "session_id": "s-1", "total_cost_usd": 0, "result": text,
         "api_error_status": status,
         "usage": {"input_tokens": 0, "output_tokens": 0}})  # fmt: skip
    return 1


# --- codex -----------------------------------------------------------------------------------


def codex(prompt: str) -> int:
    if "exec" not in ARGS or "--json" not in ARGS:
        err("error: unrecognized subcommand or missing --json\n")
        return 2
    if "-c" in ARGS and ARGS.index("-c") > ARGS.index("exec"):  # as codex-cli 0.66 does
        err("error: unexpected argument '-c' found\n")
        return 2
    if SCENARIO == "plain_text":
        print("[2026-11-26T10:00:00] OpenAI Codex v0.66.0\nThe answer, as plain text.")
        return 0
    out({"type": "thread.started", "thread_id": "th-1"})
    out({"type": "turn.started"})
    if SCENARIO in ("hang", "hang_ignore_term"):
        return hang()
    if SCENARIO == "turn_failed":
        out({"type": "turn.failed", "error": {"message": "unexpected status 401 Unauthorized: "
             "Missing bearer or basic authentication in header"}})  # fmt: skip
        return 1
    if SCENARIO == "error_event":
        out({"type": "error", "message": "You've hit your usage limit. Upgrade to Pro "
             "(https://openai.com/chatgpt/pricing) or try again in 2 days."})  # fmt: skip
        return 1
    if SCENARIO == "error_recovered":
        out({"type": "error", "message": "Reconnecting... 1/5 (stream disconnected)"})
    out({"type": "item.completed", "item": {"id": "item_0", "type": "reasoning",
         "text": "**Reading the workspace**\n\nList the files, then answer."}})  # fmt: skip
    command = {"id": "item_1", "type": "command_execution", "command": "bash -lc ls",
               "aggregated_output": "", "exit_code": None, "status": "in_progress"}  # fmt: skip
    out({"type": "item.started", "item": command})
    out({"type": "item.completed", "item": {**command, "aggregated_output": "README.md\n",
         "exit_code": 0, "status": "completed"}})  # fmt: skip
    text = answer_text(prompt)
    sent = ""
    out({"type": "item.started", "item": {"id": "item_2", "type": "agent_message", "text": ""}})
    for piece in chunks(text, 20):
        sent += piece
        out({"type": "item.updated", "item": {"id": "item_2", "type": "agent_message",
             "text": sent}})  # fmt: skip
    out({"type": "item.completed", "item": {"id": "item_2", "type": "agent_message",
         "text": text}})  # fmt: skip
    out({"type": "turn.completed", "usage": {"input_tokens": 2000, "cached_input_tokens": 500,
         "output_tokens": 600}})  # fmt: skip
    return 0


# --- gemini ----------------------------------------------------------------------------------


def gemini(prompt: str) -> int:
    stream = "stream-json" in ARGS
    if SCENARIO == "plain_text" or not stream:
        print("Loaded cached credentials.\nHere is the answer, in plain text.")
        return 0
    stamp = "2026-11-26T10:00:00.000Z"
    out({"type": "init", "timestamp": stamp, "session_id": "g-1", "model": "gemini-4-argon"})
    out({"type": "message", "timestamp": stamp, "role": "user", "content": prompt[:200]})
    if SCENARIO in ("hang", "hang_ignore_term"):
        return hang()
    if SCENARIO == "exit54":
        out({"type": "message", "timestamp": stamp, "role": "assistant", "content": "Run",
             "delta": True})  # fmt: skip
        err("Loaded cached credentials.\n")
        err(json.dumps({"error": {"type": "FatalToolExecutionError",
                       "message": "Error executing tool run_shell_command: not allowed",
                       "code": 54}}, indent=2) + "\n")  # fmt: skip
        return 54
    if SCENARIO == "error_event":
        out({"type": "error", "timestamp": stamp, "severity": "error",
             "message": "[API Error: You have exhausted your capacity on this model. Your "
                        "quota will reset after 2h52m39s.]"})  # fmt: skip
        out({"type": "result", "timestamp": stamp, "status": "error",
             "error": {"type": "Error", "message": "[API Error: You have exhausted your capacity "
                       "on this model. Your quota will reset after 2h52m39s.]"},
             "stats": {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0}})  # fmt: skip
        return 1
    if SCENARIO in GEMINI_API_ERRORS:  # never a JSON event: text on stderr, exit 1
        err(GEMINI_NOISE + GEMINI_API_ERRORS[SCENARIO])
        return 1
    if SCENARIO == "exit41":
        err("Please set an Auth method in your settings.json or specify GEMINI_API_KEY\n")
        return 41
    if SCENARIO == "huge_line":
        sys.stdout.write('{"type":"message","role":"assistant","delta":true,"content":"')
        sys.stdout.write("y" * SIZE + '"}\n')
        sys.stdout.flush()
        return 0
    if SCENARIO == "orphan":
        record("pids", {"tool": os.getpid(), "orphans": [sleeper(hold_stdout=True).pid]})
    if SCENARIO == "stderr_flood":
        for _ in range(SIZE // 65536):
            err("w" * 65535 + "\n")
    intro = "Let me read the workspace."
    pieces = chunks("x" * SIZE, 16384) if SCENARIO == "huge" else chunks(intro)
    for piece in pieces:
        out({"type": "message", "timestamp": stamp, "role": "assistant", "content": piece,
             "delta": True})  # fmt: skip
    if SCENARIO != "huge":
        out({"type": "tool_use", "timestamp": stamp, "tool_name": "read_file", "tool_id": "t-1",
             "parameters": {"file_path": "README.md"}})  # fmt: skip
        out({"type": "tool_result", "timestamp": stamp, "tool_id": "t-1", "status": "success",
             "output": "# readme"})  # fmt: skip
        out({"type": "error", "timestamp": stamp, "severity": "warning",
             "message": "Loop detection is off"})  # fmt: skip
        for piece in chunks(answer_text(prompt)):
            out({"type": "message", "timestamp": stamp, "role": "assistant", "content": piece,
                 "delta": True})  # fmt: skip
    out({"type": "result", "timestamp": stamp, "status": "success",
         "stats": {"total_tokens": 3000, "input_tokens": 1800, "output_tokens": 700,
                   "cached": 200, "input": 1600, "duration_ms": 1234,
                   "tool_calls": 1}})  # fmt: skip
    return 0


# What gemini prints on stderr before an API error: coloured warnings and status lines.
GEMINI_NOISE = (
    "\x1b[33m[WARN] Skipping extension in /home/u/.gemini/extensions/old: missing "
    "gemini-extension.json\x1b[0m\n"
    "Loaded cached credentials.\n"
    "Error when talking to Gemini API Full report available at: "
    "/tmp/gemini-client-error-Turn.run-sendMessageStream-2026-11-26T10-00-00-000Z.json\n"
)
GEMINI_API_ERRORS = {
    # A per-minute limit: Google's text says "check quota", the status says 429.
    "api_429": '\x1b[31m[API Error: {"error":{"code":429,"message":"Resource has been exhausted '
               '(e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]\x1b[0m\n',
    # The per-day quota: retrying today will not help.
    "api_429_daily": '[API Error: {"error":{"code":429,"message":"You exceeded your current '
                     'quota, please check your plan and billing details. Quota exceeded for '
                     'metric: generativelanguage.googleapis.com/generate_content_free_tier_'
                     'requests, limit: 50, model: gemini-2.5-pro","status":"RESOURCE_EXHAUSTED",'
                     '"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure",'
                     '"violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"'
                     '}]}]}}]\n',
    # The plan's allowance spent (TerminalQuotaError), then a generic last line.
    "api_capacity": "[API Error: You have exhausted your capacity on this model. Your quota will "
                    "reset after 2h52m39s.]\n"
                    "An unexpected critical error occurred:[object Object]\n",
    "api_500": '[API Error: {"error":{"code":500,"message":"Internal error encountered.",'
               '"status":"INTERNAL"}}]\n',
    "api_503": '[API Error: {"error":{"code":503,"message":"The model is overloaded. Please try '
               'again later.","status":"UNAVAILABLE"}}]\n',
}  # fmt: skip


# --- shared ----------------------------------------------------------------------------------


def hang() -> int:
    """Leave a grandchild behind, say so, then never finish."""
    if SCENARIO == "hang_ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = sleeper(hold_stdout=False)
    record("pids", {"tool": os.getpid(), "orphans": [child.pid]})
    if TOOL == "claude":
        out({"type": "stream_event", "event": {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "Thinking..."}}})  # fmt: skip
    elif TOOL == "codex":
        out({"type": "item.started", "item": {"id": "item_0", "type": "reasoning",
             "text": "Thinking..."}})  # fmt: skip
    else:
        out({"type": "message", "timestamp": "t", "role": "assistant", "content": "Work",
             "delta": True})  # fmt: skip
    while True:
        time.sleep(60)


def main() -> int:
    if ARGS[-1:] == ["--version"]:
        print(VERSIONS[TOOL])
        return 0
    if ARGS[-1:] == ["--help"]:
        text = HELP[" ".join([TOOL, *ARGS[:-1]])]
        if SCENARIO == "old":
            text = "\n".join(ln for ln in text.splitlines() if "partial" not in ln)
        print(text)
        return 0
    prompt = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    record("run", {"argv": ARGS, "cwd": os.getcwd(), "env": dict(os.environ),
                   "stdin": prompt})  # fmt: skip
    if SCENARIO == "signal":
        os.kill(os.getpid(), signal.SIGSEGV)
    return {"claude": claude, "codex": codex, "gemini": gemini}[TOOL](prompt)


if __name__ == "__main__":
    sys.exit(main())
