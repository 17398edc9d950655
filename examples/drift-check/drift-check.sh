#!/bin/sh
# Run the drift check of one stack and report its result to GitHub Actions (or just print it elsewhere).
#
#   sh drift-check.sh PROJECT_DIR STACK [REPORT_FILE]
#
# Prints the report, writes it to REPORT_FILE, and sets the step output `result` to none, drift or error.
# Exits with rr-pulumi drift's code: 0 no drift, 1 drift, 2 could not check.
set -eu   # any failing command fails the script; rr-pulumi drift's own code is kept below
project_dir=${1:?project folder}
stack=${2:?stack name}
report=${3:-drift-report.txt}

code=0
rr-pulumi drift --cwd "$project_dir" --stack "$stack" > "$report" 2>&1 || code=$?
cat "$report"
case $code in
  0) result=none ;;
  1) result=drift ;;
  *) result=error ;;
esac
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "result=$result" >> "$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  { echo "### RequestRocket drift check: $result"; echo '```'; cat "$report"; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
fi
exit $code
