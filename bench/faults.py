"""Every bad input we know of, tried on the real command line: what devise answers, and whether that is right.

    python bench/faults.py [--write docs/faults.md]

Each case builds its own damage in a scratch workspace (a copy of a small
indexed collection, a model, a home), runs `python -m devise ...` in a fresh
process and checks: the exit code (1 for bad input, 2 for a usage error, 0
where devise copes and warns), no traceback and no signal, at most one
`Error:` line, and, where the case protects a user's file or folder, that
every byte of it is unchanged. The table in docs/faults.md is this script's
output, not written by hand.
"""
import argparse
import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fault_cases import CASES, Skip, Workspace, unmount_all
from fault_cases_io import IO_CASES

from common import ROOT


def snapshot(paths):
    out = {}
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() or root.is_symlink() else sorted(p for p in root.rglob("*"))
        for p in files:
            if p.is_symlink():
                out[str(p)] = "link:" + os.readlink(p)
            elif p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_case(case, base, scratch):
    # Every case works at the same path the base was built at: indexes and caches hold absolute paths.
    ws = Workspace.copy(base, scratch / "ws")
    try:
        argv, protected, env = case.setup(ws)
    except Skip as why:
        unmount_all()
        shutil.rmtree(ws.root)
        return {"id": case.id, "area": case.area, "input": case.what, "exit": "", "answer": f"skipped: {why}",
                "passed": None, "problems": [], "seconds": 0}
    try:
        return _judge(case, ws, argv, protected, env)
    finally:
        unmount_all()
        shutil.rmtree(ws.root, ignore_errors=True)


def _judge(case, ws, argv, protected, env):
    before = snapshot(protected)
    start = time.perf_counter()
    command = [sys.executable, "-m", "devise", *map(str, argv)]
    env = {**os.environ, "DEVISE_HOME": str(ws.home), "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    problems = []
    if case.http:
        proc, said_http = serve_and_send(command, ws.root, env, case.http, problems)
    else:
        proc = subprocess.run(command, cwd=ws.root, capture_output=True, text=True, env=env, timeout=600)
    seconds = time.perf_counter() - start
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    if proc.returncode != case.exit_code:
        problems.append(f"exit {proc.returncode}, expected {case.exit_code}")
    if proc.returncode < 0:
        problems.append(f"killed by signal {-proc.returncode}")
    if "Traceback" in proc.stderr or "Traceback" in proc.stdout:
        problems.append("traceback")
    if len(errors) > 1:
        problems.append(f"{len(errors)} error lines")
    if case.exit_code and not errors:
        problems.append("no error line")
    if case.expect and case.expect not in proc.stderr + proc.stdout:
        problems.append(f"{case.expect!r} not said")
    if case.forbid and case.forbid in proc.stderr + proc.stdout:
        problems.append(f"{case.forbid!r} said")
    if before != snapshot(protected):
        problems.append("a protected file changed")
    notes = [x for x in proc.stderr.splitlines() if x.strip() and "%|" not in x]  # tqdm bars are not answers
    said = (errors or [x for x in notes if x.startswith("warning")] or notes or [""])[0].strip()
    if case.http:
        said = said_http
    said = said.replace(str(ws.root), "…")
    return {"id": case.id, "area": case.area, "input": case.what, "exit": proc.returncode, "answer": said[:160],
            "passed": not problems, "problems": problems, "seconds": round(seconds, 1)}


def serve_and_send(command, cwd, env, requests, problems):
    """Start `devise serve` on a free port, send each request and then GET /api/indexes on one keep-alive connection.

    Each hostile request must get a 4xx with one-line JSON {"error"}; the request after it must still get a 200.
    Returns the server's CompletedProcess (after SIGINT) and the first error message.
    """
    import http.client
    import re
    import signal
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*command, "--port", str(port)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    said = ""
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    problems.append("the server did not start")
                    return _stop(server), said
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        token = json.loads(html.unescape(re.search(r'name="devise-config" content="([^"]*)"', page).group(1)))["token"]
        for method, path, body in requests:
            conn.request(method, path, body=body.encode(), headers={"X-Devise-Token": token,
                                                                    "Content-Type": "application/json"})
            reply = conn.getresponse()
            data = reply.read()
            try:
                message = json.loads(data)["error"]
            except (ValueError, KeyError, TypeError):
                message = None
            said = said or f"{reply.status}: {message or data[:80]!r}"
            if not 400 <= reply.status < 500 or not isinstance(message, str) or "\n" in message:
                problems.append(f"{method} {path} answered {reply.status} {data[:80]!r}")
        conn.request("GET", "/api/indexes")
        after = conn.getresponse()
        after.read()
        if after.status != 200:
            problems.append(f"the next request on the connection got {after.status}")
    except (OSError, http.client.HTTPException) as exc:
        problems.append(f"connection failed ({type(exc).__name__}: {exc})")
    finally:
        server.send_signal(signal.SIGINT)
    return _stop(server), said


def _stop(server):
    try:
        out, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        out, err = server.communicate()
    # Ctrl-C is how a server stops: its exit code is the case's 0, not a fault.
    return subprocess.CompletedProcess(server.args, 0 if server.returncode in (0, -2, 130) and
                                       "Traceback" not in err else server.returncode, out, err)


FUZZ = ("`tests/test_fuzz.py` (Hypothesis) adds **1,620 generated inputs** per run, all passing: 300 queries to "
        "`parse`, 300 to `query_vector`, 300 to the query analyser (`analyse`), 300 filters, 100 manifests, 100 near-valid index manifests, 100 item lists, 60 query strings and 60 JSON "
        "bodies to the web API (`pytest tests/test_fuzz.py --hypothesis-show-statistics`).")


def tally(rows):
    tried = [r for r in rows if r["passed"] is not None]
    return tried, sum(bool(r["passed"]) for r in tried), [r for r in rows if r["passed"] is None]


def markdown(rows, seconds):
    tried, passed, skipped = tally(rows)
    lines = ["# Bad input: what devise answers", "",
             f"Generated by `python bench/faults.py --write docs/faults.md`: **{len(tried)} cases tried, {passed} "
             f"passed**" + (f", {len(skipped)} skipped (this machine could not set them up)" if skipped else "")
             + f" ({seconds:.0f} s). A case passes when the exit code is the expected one (1: bad input, 2: usage "
             "error, 0: devise copes and warns), nothing shows a traceback or dies of a signal, there is at most "
             "one `Error:` line, and every protected user file is byte for byte unchanged; a server case passes "
             "when each hostile request gets a 4xx with a one-line JSON error and the next request on the same "
             "connection still gets its answer.", "", FUZZ, "",
             "| area | bad input | exit | devise says | ok |", "|---|---|---:|---|---|"]
    for r in rows:
        answer = r["answer"].replace("|", "\\|")
        mark = "skipped" if r["passed"] is None else "yes" if r["passed"] else "**no**: " + "; ".join(r["problems"])
        lines.append(f"| {r['area']} | {r['input']} | {r['exit']} | {answer} | {mark} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="Also write the Markdown table here (e.g. docs/faults.md).")
    parser.add_argument("--only", help="Comma-separated case ids.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="devise-faults-"))
    start = time.perf_counter()
    try:
        built = Workspace.build(scratch / "ws")
        base = Workspace(built.root.rename(scratch / "base"))
        chosen = [c for c in CASES + IO_CASES if not args.only or c.id in args.only.split(",")]
        rows = []
        for case in chosen:
            rows.append(run_case(case, base, scratch))
            r = rows[-1]
            flag = "skip" if r["passed"] is None else "ok  " if r["passed"] else "FAIL"
            print(f"{flag} {r['id']:<24} exit {r['exit']:>3}  {r['answer'][:90]}"
                  + ("" if r["passed"] is not False else f"  <- {'; '.join(r['problems'])}"), file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.perf_counter() - start
    if args.write:
        args.write.write_text(markdown(rows, seconds))
    if args.json:
        print(json.dumps(rows, indent=2))
    tried, passed, skipped = tally(rows)
    print(f"{len(tried)} bad inputs tried, {passed} passed, {len(tried) - passed} failed, {len(skipped)} skipped "
          f"({seconds:.0f} s)")
    sys.exit(0 if passed == len(tried) else 1)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
