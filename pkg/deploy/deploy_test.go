package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/gateway"
)

func TestFunctions(t *testing.T)   { runCheck(t, checkFunctions) }
func TestRoutes(t *testing.T)      { runCheck(t, checkRoutes) }
func TestTables(t *testing.T)      { runCheck(t, checkTables) }
func TestPolicies(t *testing.T)    { runCheck(t, checkPolicies) }
func TestEnvironment(t *testing.T) { runCheck(t, checkEnvironment) }
func TestOutputs(t *testing.T)     { runCheck(t, checkOutputs) }

// TestSecretGrantedOnlyWhereRead: only the functions whose code reads the
// HMAC key secret may read it; the function that resets with a link looks
// its token up by a plain SHA-256 and may not. TestPoliciesAreWhatTheCodeCalls
// sees which functions read it, with the key in a Secrets Manager fake.
func TestSecretGrantedOnlyWhereRead(t *testing.T) { runCheck(t, checkSecretGrant) }

// TestUsersTableUpdateLimitedToPasswordAttributes: a function allowed to
// change a password may change nothing else of an account, and reads
// nothing of it back through UpdateItem. TestPoliciesAreWhatTheCodeCalls
// holds the code's updates to the same list.
func TestUsersTableUpdateLimitedToPasswordAttributes(t *testing.T) {
	runCheck(t, checkUsersTableUpdates)
}

// TestEmailIndexProjectsNoPasswordHash: the indexes the send flows query
// hold what those flows read, and no password hash.
func TestEmailIndexProjectsNoPasswordHash(t *testing.T) { runCheck(t, checkIndexProjections) }

// TestSendEmailOnlyFromSender: a function may send mail only from the
// address it is given. TestPoliciesAreWhatTheCodeCalls sees the code send
// from it.
func TestSendEmailOnlyFromSender(t *testing.T) { runCheck(t, checkSendFrom) }

// TestFunctionsBuild builds each function's directory the way the Makefile
// does for Lambda, so a template naming a directory that does not build fails
// here rather than in sam build.
func TestFunctionsBuild(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "functions")); os.IsNotExist(err) {
		t.Skip("functions/ does not exist yet")
	}
	if testing.Short() {
		t.Skip("cross-compiling four functions; skipped with -short")
	}
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		t.Run(dir, func(t *testing.T) {
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(t.TempDir(), "bootstrap"), "./functions/"+dir)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("function %s: go build ./functions/%s: %v\n%s", logicalID(dir), dir, err, out)
			}
		})
	}
}

// TestChecksCatchBreakage feeds each check a copy of template.yaml broken in
// one way, and wants the check to say so: the checks above can be seen to fail.
func TestChecksCatchBreakage(t *testing.T) {
	good := string(readTemplate(t))
	tests := []struct {
		name     string
		old, new string
		check    func(*stack) []string
		want     string  // a substring of one reported problem
		v        variant // variants[0] when empty
	}{
		{
			name:  "TTL disabled",
			old:   "AttributeName: expires_at\n        Enabled: true",
			new:   "AttributeName: expires_at\n        Enabled: false",
			check: checkTables,
			want:  "table TokensTable: TTL",
		},
		{
			name:  "users table without PITR",
			old:   "PointInTimeRecoveryEnabled: true",
			new:   "PointInTimeRecoveryEnabled: false",
			check: checkTables,
			want:  "table UsersTable: point-in-time recovery",
		},
		{
			name:  "provisioned tokens table",
			old:   "    UpdateReplacePolicy: Delete\n    Properties:\n      BillingMode: PAY_PER_REQUEST",
			new:   "    UpdateReplacePolicy: Delete\n    Properties:\n      BillingMode: PROVISIONED",
			check: checkTables,
			want:  "table TokensTable: BillingMode",
		},
		{
			name:  "wildcard action",
			old:   "Action: [ses:SendEmail]",
			new:   "Action: [ses:*]",
			check: checkPolicies,
			want:  "function OtpCreateFunction: grants ses:* on",
		},
		{
			name:  "users table granted to otp-create",
			old:   "Action: [dynamodb:UpdateItem]\n              Resource: !GetAtt TokensTable.Arn",
			new:   "Action: [dynamodb:UpdateItem]\n              Resource: [!GetAtt TokensTable.Arn, !GetAtt UsersTable.Arn]",
			check: checkPolicies,
			want:  "function OtpCreateFunction: grants dynamodb:UpdateItem on ${UsersTable.Arn}",
		},
		{
			name:  "managed policy",
			old:   "      Policies:\n",
			new:   "      Policies:\n        - AmazonDynamoDBFullAccess\n",
			check: checkPolicies,
			want:  "function OtpCreateFunction: policy AmazonDynamoDBFullAccess",
		},
		{
			name:  "HMAC key secret granted to password-reset",
			old:   "            # No HmacKey:",
			new:   "            - Sid: HmacKey\n              Effect: Allow\n              Action: [secretsmanager:GetSecretValue]\n              Resource: !Ref HmacKeySecret\n            # No HmacKey:",
			check: checkSecretGrant,
			want:  "function PasswordResetFunction: may read the HMAC key secret, which its code never reads",
		},
		{
			name:  "users table update of another attribute",
			old:   "                      - !Ref UsersEmailAttribute\n",
			new:   "                      - !Ref UsersEmailAttribute\n                      - !Ref UsersVerifiedAttribute\n",
			check: checkUsersTableUpdates,
			want:  `function OtpValidateFunction: statement ChangePassword may update "verified" of the users table`,
		},
		{
			name:  "users table update returning the item",
			old:   "dynamodb:ReturnValues: NONE",
			new:   "dynamodb:ReturnValues: [NONE, ALL_OLD]",
			check: checkUsersTableUpdates,
			want:  "function OtpValidateFunction: statement ChangePassword may have the users table return attributes",
		},
		{
			name:  "password hash projected",
			old:   "            NonKeyAttributes:\n              - !Ref UsersUsernameAttribute\n",
			new:   "            NonKeyAttributes:\n              - !Ref UsersUsernameAttribute\n              - !Ref UsersPasswordAttribute\n",
			check: checkIndexProjections,
			want:  `table UsersTable: index email-index projects the password hash "password_hash"`,
		},
		{
			name:  "any sender",
			old:   "              Condition:\n                StringEquals:\n                  ses:FromAddress: !Ref MailFrom\n",
			new:   "",
			check: checkSendFrom,
			want:  "function OtpCreateFunction: statement Mail may send mail from any address",
		},
		{
			name:  "route moved",
			old:   "Path: /generate-otp",
			new:   "Path: /generate-code",
			check: checkRoutes,
			want:  "route POST /generate-code of OtpCreateFunction is not in gateway.FunctionRoutes()",
		},
		{
			name:  "old runtime",
			old:   "Runtime: provided.al2023",
			new:   "Runtime: provided.al2",
			check: checkFunctions,
			want:  "function LinkRequestFunction: Runtime",
		},
		{
			name:  "variable dropped",
			old:   "        MAX_ATTEMPTS: !Ref MaxAttempts\n",
			new:   "",
			check: checkEnvironment,
			want:  "function PasswordResetFunction: environment lacks MAX_ATTEMPTS",
		},
		{
			name:  "no ApiUrl output",
			old:   "  ApiUrl:",
			new:   "  ApiBase:",
			check: checkOutputs,
			want:  "output ApiUrl is missing",
		},
		{
			name:  "users table deletable",
			old:   "      DeletionProtectionEnabled: true\n",
			new:   "",
			check: checkTables,
			want:  "table UsersTable: DeletionProtectionEnabled is not true",
		},
		{
			name:  "tokens table retained",
			old:   "    DeletionPolicy: Delete\n",
			new:   "    DeletionPolicy: Retain\n",
			check: checkTables,
			want:  "table TokensTable: DeletionPolicy Retain",
		},
		{
			name:  "secret deleted with the stack",
			old:   "    Type: AWS::SecretsManager::Secret\n    DeletionPolicy: Retain\n",
			new:   "    Type: AWS::SecretsManager::Secret\n",
			check: checkSecretRetained,
			want:  "HmacKeySecret: DeletionPolicy",
		},
		{
			name:  "mail without TLS",
			old:   "TlsPolicy: REQUIRE",
			new:   "TlsPolicy: OPTIONAL",
			check: checkMailConfigurationSet,
			want:  "MailConfigurationSet: DeliveryOptions.TlsPolicy OPTIONAL",
		},
		{
			name:  "configuration set not passed",
			old:   "        SES_CONFIGURATION_SET: !Ref MailConfigurationSet\n",
			new:   "",
			check: checkEnvironment,
			want:  "environment lacks SES_CONFIGURATION_SET",
		},
		{
			name:  "access log with the path",
			old:   `"route":"$context.routeKey"`,
			new:   `"route":"$context.routeKey","path":"$context.path"`,
			check: checkAccessLog,
			want:  "access log format logs $context.path, which carries tokens",
		},
		{
			name:  "access log kept forever",
			old:   "  ApiAccessLogGroup:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      RetentionInDays: !Ref LogRetentionDays\n",
			new:   "  ApiAccessLogGroup:\n    Type: AWS::Logs::LogGroup\n",
			check: checkAccessLog,
			want:  "ApiAccessLogGroup: no RetentionInDays",
		},
		{
			name:  "CORS on without origins",
			old:   "        x-amazon-apigateway-cors: !If\n          - HasAllowedOrigins\n",
			new:   "        x-amazon-apigateway-cors: !If\n          - CreateUsersTable\n",
			check: checkCORS,
			want:  "HttpApi: CORS is on",
		},
		{
			name:  "CORS without Retry-After",
			old:   "exposeHeaders: [Retry-After]",
			new:   "exposeHeaders: []",
			check: checkCORS,
			want:  "HttpApi: CORS configuration",
			v:     corsVariant(),
		},
		{
			name:  "ALLOWED_ORIGINS not passed",
			old:   "        ALLOWED_ORIGINS: !Ref AllowedOrigins\n",
			new:   "",
			check: checkEnvironment,
			want:  "environment lacks ALLOWED_ORIGINS",
		},
		{
			name:  "a variable the code does not read",
			old:   "        LOGIN_URL: !Ref LoginUrl\n",
			new:   "        LOGIN_URL: !Ref LoginUrl\n        LOGIN_URI: !Ref LoginUrl\n",
			check: checkEnvironment,
			want:  "sets LOGIN_URI, which pkg/config does not read",
		},
		{
			name:  "links not at the custom domain",
			old:   `- !Sub "https://${DomainName}/auth/reset-password/{token}"`,
			new:   `- !Sub "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/auth/reset-password/{token}"`,
			check: checkEnvironment,
			want:  "RESET_URL is",
			v:     domainVariant(),
		},
		{
			name:  "custom domain without its certificate",
			old:   "        - CertificateArn: !Ref CertificateArn\n",
			new:   "        - CertificateArn: !Ref AWS::NoValue\n",
			check: checkCustomDomain,
			want:  "ApiDomainName: CertificateArn",
			v:     domainVariant(),
		},
		{
			name:  "duration without a pattern",
			old:   "    Description: Lifetime of a one-time code, a Go duration (OTP_TTL).\n    AllowedPattern:",
			new:   "    Description: Lifetime of a one-time code, a Go duration (OTP_TTL).\n    X-AllowedPattern:",
			check: checkParameters,
			want:  "parameter OtpTtl: a duration without AllowedPattern",
		},
		{
			name:  "username index granted when there is none",
			old:   "                  - !Ref AWS::NoValue\n",
			new:   "                  - !Sub \"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${ExistingUsersTableName}/index/${UsersUsernameIndexName}\"\n",
			check: checkPolicies,
			want:  "function OtpCreateFunction: grants dynamodb:Query on arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/members/index/, which its code does not need",
			v:     variantNamed("existing users table without user names"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("template.yaml no longer contains %q; update this case", tt.old)
			}
			broken := strings.Replace(good, tt.old, tt.new, 1)
			v := tt.v
			if v.name == "" {
				v = variants[0]
			}
			s, err := load([]byte(broken), v)
			if err != nil {
				t.Fatalf("load broken template: %v", err)
			}
			problems := tt.check(s)
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("got problems %q, want one containing %q", problems, tt.want)
		})
	}
}

// variantNamed is the variant called name.
func variantNamed(name string) variant {
	for _, v := range variants {
		if v.name == name {
			return v
		}
	}
	panic("no variant " + name)
}

func domainVariant() variant { return variantNamed("custom domain") }
func corsVariant() variant   { return variantNamed("CORS on") }
