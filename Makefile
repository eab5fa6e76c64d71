# passreset's build, test and lint. The Lambda build flags live here and
# nowhere else: `make build` and SAM (`BuildMethod: makefile`, which runs the
# build-<LogicalId> targets below) both go through lambda-build.

GO ?= go

# The directory holding this Makefile: SAM runs make from a directory of its
# choosing, so the Go build starts from here rather than from the cwd.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

FUNCTIONS := otp-create otp-validate link-request password-reset

# lambda-build builds ./functions/$(1) into the file $(2) for the
# provided.al2023 runtime on arm64 (Graviton): a static binary (no cgo, the
# image has no matching libc guarantees), without the RPC shim only the old
# go1.x runtime used (lambda.norpc), stripped, with no build paths.
lambda-build = CGO_ENABLED=0 GOOS=linux GOARCH=arm64 \
	$(GO) -C $(ROOT) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
	-o $(abspath $(2)) ./functions/$(1)

# require fails with a clear message when the command $(1) is not on PATH;
# $(2) says how to get it.
require = @command -v $(1) >/dev/null 2>&1 || { echo "make: $(1) not found on PATH: $(2)" >&2; exit 1; }

.PHONY: all build test test-go test-browser test-openapi lint clean deploy node_modules check-dev-tools check-test-tools dev bench FORCE

all: build

## build: bin/<function>/bootstrap for each Lambda function. Needs only Go.
build: $(FUNCTIONS:%=bin/%/bootstrap)

# FORCE: Go's build cache, not make, decides what is out of date.
bin/%/bootstrap: FORCE
	$(call lambda-build,$*,$@)

# sam-build makes build-$(1), the target SAM runs for the function whose
# logical ID is $(1), built from functions/$(2) into $(ARTIFACTS_DIR).
define sam-build
.PHONY: build-$(1)
build-$(1):
	$$(if $$(ARTIFACTS_DIR),,$$(error ARTIFACTS_DIR is not set: build-$(1) is for sam build; use make build))
	$$(call lambda-build,$(2),$$(ARTIFACTS_DIR)/bootstrap)
endef
$(eval $(call sam-build,OtpCreateFunction,otp-create))
$(eval $(call sam-build,OtpValidateFunction,otp-validate))
$(eval $(call sam-build,LinkRequestFunction,link-request))
$(eval $(call sam-build,PasswordResetFunction,password-reset))

## node_modules: the emulators the tests run (npm ci), when the lock changed.
node_modules: node_modules/.make-stamp

# npm ci empties node_modules first, so the stamp is written after it.
node_modules/.make-stamp: package-lock.json package.json
	$(call require,npm,install Node 20+ (npm comes with it))
	npm ci --no-audit --no-fund
	@touch $@

check-dev-tools:
	$(call require,java,install Java 17+ (DynamoDB Local runs on it): apt-get update && apt-get install -y default-jre-headless)
	$(call require,node,install Node 20+ (the SES emulator runs on it))

# check-test-tools stops at once, before minutes of Go tests, naming the
# command that installs what is missing: the browser tests need Chromium,
# the template tests AWS's SAM translator and cfn-lint (both on this
# machine image; pip elsewhere), the webhook receiver's tests PostgreSQL.
check-test-tools: check-dev-tools
	$(call require,$${CHROMIUM:-/usr/bin/chromium},install Chromium: apt-get update && apt-get install -y chromium (or set CHROMIUM to one))
	$(call require,python3,install Python 3 (the SAM translator runs on it))
	@python3 -c 'import samtranslator' 2>/dev/null || { echo "make: AWS's SAM translator not found: pip install aws-sam-translator" >&2; exit 1; }
	$(call require,cfn-lint,install cfn-lint: pip install cfn-lint)
	@# The webhook receiver's tests start PostgreSQL (pkg/emulator): initdb on
	@# PATH or where Debian puts it.
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "make: PostgreSQL's initdb not found on PATH or under /usr/lib/postgresql/*/bin: apt-get update && apt-get install -y postgresql" >&2; exit 1; }

## test: every test; the ones that need DynamoDB and SES start the emulators
## themselves (pkg/emulator). Later steps join test's prerequisites.
test: test-go test-browser test-openapi

# The second go test runs pkg/gateway's contract suite again with the accounts
# behind the webhook back-end (PostgreSQL and the reference receiver,
# through the signed hook), the third in a Cognito user pool on cognito-local:
# every back-end runs the same suite (issue 14). The Cognito pass runs 8 tests
# at a time, not one per core: cognito-local stamps a user's changes to the
# whole second, so its tests spend most of their time waiting for the next
# second (pkg/apptest/cognito.go, nextStamp), not computing; 8 overlap those
# waits (about 3 minutes instead of 6 on two cores).
test-go: check-test-tools node_modules
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	PASSRESET_TEST_USERS_BACKEND=webhook $(GO) test -race -count=1 -timeout 20m ./pkg/gateway
	PASSRESET_TEST_USERS_BACKEND=cognito $(GO) test -race -count=1 -parallel 8 -timeout 20m ./pkg/gateway

## test-browser: the reset page in Debian's Chromium, driven by playwright-core
## (npm ci), against a passreset dev of its own on free ports: with and
## without JavaScript. Screenshots of each state go to .dev/screenshots.
test-browser: check-test-tools node_modules
	node --test $(ROOT)/pkg/devserver/browser/*.test.mjs

## test-openapi: docs/openapi.yaml through Redocly's linter (npm ci), with
## redocly.yaml's rules: no error and no warning. The OpenAPI test in
## pkg/devserver holds the same document to the code.
test-openapi: node_modules
	cd $(ROOT) && npx --no-install redocly lint docs/openapi.yaml

## dev: the whole service on this machine, no AWS account, Docker or SAM:
## DynamoDB Local (in memory; PERSIST=1 keeps .dev/dynamodb), the SES
## emulator with its mail viewer on :8005, the tables, a demo account, and
## the API of template.yaml on :3000. Settings as for the functions, e.g.
## MAX_ATTEMPTS=3 make dev; ALLOWED_ORIGINS=http://localhost:5173 make dev for a
## front end on another origin. Ctrl-C stops it all.
# Built, not go run: go run would turn Ctrl-C into exit status 1.
dev: check-dev-tools node_modules
	$(GO) -C $(ROOT) build -o .dev/bin/passreset ./cmd/passreset
	cd $(ROOT) && exec .dev/bin/passreset dev

## deploy: build and deploy into your AWS account with SAM, asking nothing:
##   make deploy MAIL_FROM=no-reply@example.com SES_IDENTITY=example.com REGION=eu-west-1
## Optional: DOMAIN_NAME= and CERTIFICATE_ARN= (both), ALLOWED_ORIGINS=, STACK_NAME=
## (default passreset), PARAMETERS='Key=value ...'. A missing value stops it before
## SAM runs, naming the variable (scripts/deploy.sh; README, "Deploying").
deploy:
	cd $(ROOT) && scripts/deploy.sh

## bench: cold starts, sizes, AWS calls and capacity, warm latency, hashing,
## load and cost, each beside its floor, and the Go benchmarks; prints the
## table and writes it into docs/performance.md. About five minutes.
bench: check-dev-tools node_modules
	cd $(ROOT) && $(GO) run ./cmd/bench

## lint: gofmt must have nothing to say, and go vet nothing to report.
lint:
	@unformatted=$$(find . -path ./node_modules -prune -o -name '*.go' -print | xargs gofmt -l); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need gofmt -w:" >&2; echo "$$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin .aws-sam
