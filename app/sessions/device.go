package sessions

import (
	"strings"

	"github.com/medama-io/go-useragent"
)

// Device names the browser and system of a user agent for the session
// lists, as "Firefox 128 on Linux"; "Unknown device" when it tells
// nothing. The parser is built once per process, on first use.
func Device(userAgent string) string {
	if strings.TrimSpace(userAgent) == "" {
		return "Unknown device"
	}
	ua := useragent.NewParser().Parse(userAgent)
	browser, os := ua.Browser().String(), ua.OS().String()
	if os == "MacOS" {
		os = "macOS"
	}
	if v := ua.BrowserVersionMajor(); browser != "" && v != "" {
		browser += " " + v
	}
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case browser != "":
		return browser
	case os != "":
		return "A browser on " + os
	}
	// Not a browser (a script, a test client): show its own name, short.
	name, _, _ := strings.Cut(userAgent, " ")
	if len(name) > 40 {
		name = name[:40]
	}
	return name
}
