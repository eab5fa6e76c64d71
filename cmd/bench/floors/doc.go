// Package floors holds the two programs cmd/bench measures the functions'
// cold starts against: bare, a hello-world aws-lambda-go bootstrap, and sdk,
// the same with the AWS configuration and exactly the SDK clients
// pkg/function builds (DynamoDB, SES v2, Secrets Manager). They are built with
// the functions' release flags and never deployed.
package floors
