#!/bin/sh
# A quick-deploy payload: Shepard fetches this folder from the quick deploy bucket and runs run.sh,
# no image build needed. Inputs arrive as environment variables, like a container payload's.
set -eu

echo "job ${UUID} starting: ${GREETING:-Hello}, ${NAME:-world}!"
printf '%s, %s!\n' "${GREETING:-Hello}" "${NAME:-world}" >"${ROOT_OUTPUT_NAME}/greeting.txt"
# The job's zip sits in ROOT_INPUT_NAME (the batching endpoint's jobs have none).
ls "${ROOT_INPUT_NAME}" >"${ROOT_OUTPUT_NAME}/inputs-listing.txt"

sleep "${SLEEP_SECONDS:-0}"
if [ "${FAIL:-False}" = "True" ]; then
  echo "FAIL is True: failing on purpose" >&2
  exit 3
fi
echo "wrote $(ls "${ROOT_OUTPUT_NAME}" | tr '\n' ' ')"
