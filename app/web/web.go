// Package web is the HTTP plumbing shared by the admin console, the customer
// portal and the JSON API: request IDs, request logging, panic recovery,
// error pages, security headers, client IPs, sessions, CSRF, flash messages,
// rendering (full pages or htmx fragments) and redirects.
//
// Handlers use these helpers rather than Fiber directly for anything listed
// here, so each thing is done one way.
package web
