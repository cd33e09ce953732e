package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/plugins/sdk/sdktest"
)

// The plugin runs in-process behind a real gRPC connection; the test calls
// it through the client Licensor uses.
func TestCaptchaAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sdktest.Manifest(t, manifest, sdk.KindCaptcha)
	c := sdktest.Captcha(t, &provider{})

	var fe sdk.FieldErrors
	if err := c.Configure(ctx, sdk.Config{"question": "Six times seven?"}); !errors.As(err, &fe) || fe["answer"] == "" {
		t.Fatalf("settings without an answer: %v, want a message on the answer field", err)
	}
	if err := c.Configure(ctx, sdk.Config{"question": "Six <b>times</b> seven?", "answer": "42"}); err != nil {
		t.Fatal(err)
	}

	w, err := c.Widget(ctx, sdk.WidgetRequest{Form: "login"})
	if err != nil {
		t.Fatal(err)
	}
	if w.ResponseField != "captcha_answer" || !strings.Contains(w.HTML, "Six &lt;b&gt;times&lt;/b&gt; seven?") {
		t.Errorf("widget %+v: the question must be escaped and the field named", w)
	}
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "42"}); err != nil || !v.OK {
		t.Errorf("the right answer: %+v %v", v, err)
	}
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "41"}); err != nil || v.OK || v.Reason == "" {
		t.Errorf("a wrong answer: %+v %v, want a refusal with a reason, not an error", v, err)
	}
}
