// Package deploy holds no code: its tests read template.yaml, the SAM
// template the service is deployed with, and fail when the template drifts
// from what the code needs — runtimes, routes (gateway.FunctionRoutes()),
// table settings, environment variables (config.Variables) and
// least-privilege IAM statements — or from what operators need: what
// survives the stack, an access log without tokens or addresses, CORS, the
// custom domain, parameters that refuse a typo. They run AWS's SAM
// translator (testdata/samtranslate.py) and cfn-lint on every way of
// deploying it, check scripts/deploy.sh and samconfig.toml ask nothing,
// keep README.md's table of variables and parameters true, and fail when a
// function's directory does not build for Lambda.
package deploy
