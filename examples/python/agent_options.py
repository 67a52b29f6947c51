"""A structured-output job, then a job that resumes it: the example of the
binding's README (bindings-python/README.md, "Agent options").

    python examples/python/agent_options.py [--claude-bin PATH] [--data-dir DIR]

Jobs get the API's address and key from this process's environment
(ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY). Prints the structured answer and the
resumed job's session and result as JSON; exits 0 when both jobs succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import claude_jobs

SCHEMA = {
    "type": "object",
    "properties": {"brand": {"type": "string"}, "founded": {"type": "integer"}},
    "required": ["brand", "founded"],
}


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="A structured-output job and a job that resumes it.")
    p.add_argument("--claude-bin", default="claude")
    p.add_argument("--data-dir", default="claude-jobs-data")
    a = p.parse_args(argv)
    async with await claude_jobs.JobManager.create(claude_bin=a.claude_bin, data_dir=a.data_dir) as manager:
        # The answer must be an object of the schema: it lands in info.structured_output.
        profile = await manager.submit("Profile the brand Kettle Co.", json_schema=SCHEMA, memory="2G", timeout=300)
        first = await profile.wait()
        # The next message of the same Claude session (same working dir and config dir;
        # model, tools and caps inherited unless given here).
        follow_up = await manager.submit("Now name its best-selling kettle.", resume=profile, timeout=300)
        second = await follow_up.wait()
        print(
            json.dumps(
                {
                    "structured_output": first.structured_output,
                    "first": {"id": first.id, "state": first.state, "session_id": first.session_id},
                    "resumed": {
                        "id": second.id,
                        "state": second.state,
                        "session_id": second.session_id,
                        "resumed_session": second.resumed_session,
                        "same_work_dir": second.work_dir == first.work_dir,
                        "result": second.result,
                    },
                }
            )
        )
        return 0 if first.state == second.state == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
