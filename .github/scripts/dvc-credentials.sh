#!/usr/bin/env bash
# Give every DVC remote of this repository the credentials its kind reads, in the form DVC reads
# them: `dvc remote modify --local` (the git-ignored .dvc/config.local), so every later dvc
# command of the job (pull, push, the release gate restoring the last version's model) finds them
# and no other step needs them in its environment. Called by .github/actions/dvc-credentials.
#
#   s3 (and S3-compatible)  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY [, AWS_SESSION_TOKEN]
#   gs                      GOOGLE_APPLICATION_CREDENTIALS_JSON (the key file's JSON text)
#   azure                   AZURE_STORAGE_CONNECTION_STRING
#   ssh                     DVC_SSH_PRIVATE_KEY (the private key's text)
#
# Empty variables (a fork's pull request, the bundled sample remote) configure nothing.
set -euo pipefail

dvc=${DVC:-.venv/bin/dvc}
secrets_dir=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/dvc-credentials
configured=0

modify() { # remote, option, value: the value never reaches the log
  "$dvc" remote modify --local "$1" "$2" "$3"
}

keep_file() { # name, text: a file only this user can read, outside the repository
  mkdir -p "$secrets_dir"
  chmod 700 "$secrets_dir"
  (umask 077 && printf '%s' "$2" >"$secrets_dir/$1")
  printf '%s' "$secrets_dir/$1"
}

while read -r name url _; do
  [ -n "$name" ] || continue
  case "$url" in
    s3://*)
      if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then
        modify "$name" access_key_id "$AWS_ACCESS_KEY_ID"
        modify "$name" secret_access_key "$AWS_SECRET_ACCESS_KEY"
        [ -z "${AWS_SESSION_TOKEN:-}" ] || modify "$name" session_token "$AWS_SESSION_TOKEN"
        echo "dvc-credentials: remote '$name' (s3): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"
        configured=$((configured + 1))
      fi
      ;;
    gs://*)
      if [ -n "${GOOGLE_APPLICATION_CREDENTIALS_JSON:-}" ]; then
        modify "$name" credentialpath "$(keep_file "gcs-$name.json" "$GOOGLE_APPLICATION_CREDENTIALS_JSON")"
        echo "dvc-credentials: remote '$name' (gs): GOOGLE_APPLICATION_CREDENTIALS_JSON, as a key file"
        configured=$((configured + 1))
      fi
      ;;
    azure://*)
      if [ -n "${AZURE_STORAGE_CONNECTION_STRING:-}" ]; then
        modify "$name" connection_string "$AZURE_STORAGE_CONNECTION_STRING"
        echo "dvc-credentials: remote '$name' (azure): AZURE_STORAGE_CONNECTION_STRING"
        configured=$((configured + 1))
      fi
      ;;
    ssh://*)
      if [ -n "${DVC_SSH_PRIVATE_KEY:-}" ]; then
        modify "$name" keyfile "$(keep_file "ssh-$name.key" "$DVC_SSH_PRIVATE_KEY")"
        echo "dvc-credentials: remote '$name' (ssh): DVC_SSH_PRIVATE_KEY, as a key file"
        configured=$((configured + 1))
      fi
      ;;
  esac
done < <("$dvc" remote list)

if [ "$configured" -eq 0 ]; then
  echo "dvc-credentials: no credentials given for this repository's remotes; they are used as they are"
fi
