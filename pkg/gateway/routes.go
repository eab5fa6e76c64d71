package gateway

// FunctionRoutes says which Lambda function serves which API Gateway route
// keys. template.yaml wires the same pairs; a test keeps the two in step.
// otp-validate also serves the "create" action of POST /auth/otp: the seed
// puts both actions on one route, and creating a code needs no permission
// that validating one does not already hold.
// password-reset also serves the page the mailed link opens (page.go):
// showing it only reads the link, with permissions the function has.
var FunctionRoutes = map[string][]string{
	"otp-create": {
		"POST /generate-otp",
		"POST /auth/forgot-password",
	},
	"otp-validate": {
		"POST /auth/otp",
		"POST /{email}/reset-password",
		"POST /reset-password",
		"PUT /auth/forgot-password",
	},
	"link-request": {
		"POST /auth/request-reset-password",
	},
	"password-reset": {
		"GET /auth/reset-password/{token}",
		"POST /auth/reset-password",
		"POST /auth/reset-password/{token}",
	},
}
