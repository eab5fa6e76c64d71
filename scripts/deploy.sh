#!/usr/bin/env bash
# deploy.sh builds passreset and deploys it into an AWS account with SAM,
# asking nothing: every value comes from the environment (or make's
# variables, through `make deploy`), and a missing one stops it at once,
# named, before SAM runs.
#
#   MAIL_FROM=no-reply@example.com SES_IDENTITY=example.com REGION=eu-west-1 scripts/deploy.sh
#
# Required:
#   MAIL_FROM        the sender of every mail, a bare address verified in SES
#   SES_IDENTITY     the SES identity MAIL_FROM is verified under (the domain, or the address)
#   REGION           the AWS Region to deploy to; SES must be set up there
# Optional:
#   DOMAIN_NAME      a custom domain for the API (e.g. reset.example.com) ...
#   CERTIFICATE_ARN  ... with its ACM certificate, in REGION; both or neither
#   ALLOWED_ORIGINS  browser origins that may call the API, comma-separated, no spaces
#   STACK_NAME       the CloudFormation stack (default: passreset)
#   PARAMETERS       more template parameters, space-separated Key=Value pairs,
#                    e.g. PARAMETERS='ExistingUsersTableName=accounts OtpTtl=5m'
#
# DomainName, CertificateArn and AllowedOrigins are always passed, empty when
# unset, so what is deployed is what this command says: leaving DOMAIN_NAME
# out removes a custom domain an earlier deploy made. A parameter neither
# here nor in PARAMETERS keeps its value from the last deploy (its default
# on the first). See README.md, "Deploying".
set -euo pipefail

cd "$(dirname "$0")/.."

problems=()
need() { # need NAME what-it-is example
	if [[ -z "${!1:-}" ]]; then
		problems+=("$1 is not set: $2 (e.g. $1=$3)")
	fi
}
need MAIL_FROM "the sender of every mail, a bare address verified in SES" no-reply@example.com
need SES_IDENTITY "the SES identity MAIL_FROM is verified under, the domain or the address" example.com
need REGION "the AWS Region to deploy to, where SES is set up" eu-west-1
if [[ -n "${DOMAIN_NAME:-}" && -z "${CERTIFICATE_ARN:-}" ]]; then
	problems+=("CERTIFICATE_ARN is not set: DOMAIN_NAME needs an ACM certificate for it, in REGION (e.g. CERTIFICATE_ARN=arn:aws:acm:eu-west-1:123456789012:certificate/...)")
fi
if [[ -z "${DOMAIN_NAME:-}" && -n "${CERTIFICATE_ARN:-}" ]]; then
	problems+=("DOMAIN_NAME is not set: CERTIFICATE_ARN is only used with a custom domain (e.g. DOMAIN_NAME=reset.example.com)")
fi
STACK_NAME=${STACK_NAME:-passreset}
# The functions are named STACK_NAME-password-reset and so on: Lambda
# allows 64 characters.
if [[ ! "$STACK_NAME" =~ ^[A-Za-z][A-Za-z0-9-]{0,48}$ ]]; then
	problems+=("STACK_NAME is \"$STACK_NAME\": want a letter, then at most 48 letters, digits or hyphens (e.g. STACK_NAME=passreset)")
fi
if [[ -n "${REGION:-}" && ! "$REGION" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]]; then
	problems+=("REGION is \"$REGION\": want a Region code (e.g. REGION=eu-west-1)")
fi
# SAM reads each override as Key="value": a quote or a space in a value
# would split it.
for name in MAIL_FROM SES_IDENTITY DOMAIN_NAME CERTIFICATE_ARN ALLOWED_ORIGINS; do
	if [[ "${!name:-}" =~ [[:space:]\"\'] ]]; then
		problems+=("$name has a space or a quote: \"${!name}\"")
	fi
done
extra=()
if [[ -n "${PARAMETERS:-}" ]]; then
	read -r -a extra <<<"$PARAMETERS"
fi
# ${a[@]+"${a[@]}"}: an empty array under set -u in macOS's bash 3.2.
for kv in ${extra[@]+"${extra[@]}"}; do
	# SAM drops Key= (it then keeps the previous value); Key="" is empty.
	if [[ ! "$kv" =~ ^[A-Za-z0-9]+=.+$ ]]; then
		problems+=("PARAMETERS has \"$kv\": want Key=value, and Key=\"\" for an empty value")
	fi
done
if ((${#problems[@]} > 0)); then
	for p in "${problems[@]}"; do
		echo "deploy: $p" >&2
	done
	echo "deploy: nothing was deployed; see README.md, \"Deploying\"" >&2
	exit 2
fi
if ! command -v sam >/dev/null 2>&1; then
	echo "deploy: sam not found on PATH: install the AWS SAM CLI (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html)" >&2
	exit 2
fi

overrides=(
	"MailFrom=\"$MAIL_FROM\""
	"SesIdentity=\"$SES_IDENTITY\""
	"DomainName=\"${DOMAIN_NAME:-}\""
	"CertificateArn=\"${CERTIFICATE_ARN:-}\""
	"AllowedOrigins=\"${ALLOWED_ORIGINS:-}\""
)
overrides+=(${extra[@]+"${extra[@]}"})

set -x
sam build
# --no-confirm-changeset: no "Deploy this changeset? [y/N]", whose Enter
# aborts. --no-fail-on-empty-changeset: deploying what is already there
# succeeds. Not --guided: it asks for every parameter and, for each route
# without an authorizer, a [y/N] question whose Enter aborts (see README).
sam deploy \
	--stack-name "$STACK_NAME" \
	--region "$REGION" \
	--capabilities CAPABILITY_IAM \
	--resolve-s3 \
	--no-confirm-changeset \
	--no-fail-on-empty-changeset \
	--parameter-overrides "${overrides[@]}"
