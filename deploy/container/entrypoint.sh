#!/bin/sh
# Entry point of the BBMEET container image: one image runs every role.
#   (no argument) | start   signalling, REST API and SFU in one process
#   signalling | sfu        the cluster roles (docs/deployment.md)
#   --port 6000 …           options alone: bbmeet start with them
#   token, rooms, …         the other bbmeet commands (bbmeet help lists them)
# It replaces itself (exec) with the project's Node 24 running bin/bbmeet.mjs, so the server is
# the process that receives the container's signals (SIGTERM drains an SFU node).
# BBMEET_HOME (default /app) and BBMEET_NODE (default its node_modules/.bin/node) locate them.
set -eu

home=${BBMEET_HOME:-/app}
node=${BBMEET_NODE:-$home/node_modules/.bin/node}

role=start
if [ $# -gt 0 ]; then
  case "$1" in
    # Help and version are bbmeet's own options; any other option belongs to bbmeet start.
    -h | --help | -v | --version) role=$1 && shift ;;
    -*) ;;
    *) role=$1 && shift ;;
  esac
fi

case "$role" in
  start | signalling | sfu | help | -h | --help | -v | --version) ;;
  token | identity-token | rooms | participants | mute | remove-participant | end-room | update-participant) ;;
  *)
    echo "bbmeet image: unknown role '$role': use start (the default), signalling or sfu," >&2
    echo "or another bbmeet command (run the image with 'help' to list them)" >&2
    exit 64
    ;;
esac

exec "$node" "$home/bin/bbmeet.mjs" "$role" "$@"
