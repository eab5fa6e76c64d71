// Package deploy holds no code: its tests read template.yaml, the SAM
// template the service is deployed with, and fail when the template drifts
// from what the code needs — runtimes, routes (gateway.FunctionRoutes),
// table settings, environment variables and least-privilege IAM statements —
// or when a function's directory does not build for Lambda.
package deploy
