#!/usr/bin/env bash
# Writes the deployed stack's outputs (API URL, data bucket, ...) into the GitHub run summary.
# Used by .github/workflows/deploy.yml after `make deploy`; runs anywhere with the AWS CLI:
#   STAGE=dev bash .github/scripts/stack-summary.sh        (prints to stdout outside Actions)
# The stack is `sluice-$STAGE` unless SLUICE_STACK_NAME says otherwise.
set -euo pipefail

stage="${STAGE:?STAGE is required (dev or prod)}"
stack="${SLUICE_STACK_NAME:-sluice-${stage}}"
summary="${GITHUB_STEP_SUMMARY:-/dev/stdout}"

status=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query 'Stacks[0].StackStatus' --output text)
outputs=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)

{
  echo "### sluice \`${stage}\`: stack \`${stack}\` is ${status}"
  echo
  echo "Commit \`${GITHUB_SHA:-unknown}\` (${GITHUB_REF_NAME:-local})."
  echo
  if [[ -z "$outputs" || "$outputs" == "None" ]]; then
    echo "The stack has no outputs."
  else
    echo "| output | value |"
    echo "|---|---|"
    while IFS=$'\t' read -r key value; do
      [[ -n "$key" ]] || continue
      echo "| \`${key}\` | ${value//|/\\|} |"
    done <<< "$outputs"
  fi
} >> "$summary"
