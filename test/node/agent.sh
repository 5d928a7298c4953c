#!/bin/sh
# The agent of the end-to-end tests: it runs its task as a shell script, so each test says in the AgentRun's
# task what the agent does (call a skill, write a result to /dev/termination-log, exit with some code).
# /skillpod/bin (the executor's client) comes first in PATH, so a task can say `skillpod-exec call …`.
set -u
exec /bin/sh -c "$(cat /skillpod/task)"
