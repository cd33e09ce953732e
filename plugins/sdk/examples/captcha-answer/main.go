// Command captcha-answer is a CAPTCHA plugin: "what is six times seven?"
package main

import (
	"context"
	"crypto/subtle"
	"html"

	"github.com/licensor/licensor/plugins/sdk"
)

var manifest = sdk.Manifest{
	Name:        "captcha-answer", // = its directory's name once installed
	Version:     "0.1.0",
	Description: "Asks a question only people answer.",
	Config: []sdk.ConfigField{
		{Name: "question", Label: "Question", Type: sdk.FieldString, Default: "What is six times seven?"},
		{Name: "answer", Label: "Answer", Type: sdk.FieldString, Required: true, Secret: true},
	},
}

type provider struct{ question, answer string }

func (p *provider) Configure(_ context.Context, cfg sdk.Config) error {
	if cfg.String("answer", "") == "" {
		return sdk.FieldErrors{"answer": "Enter the answer."} // shown next to the field
	}
	p.question, p.answer = cfg.String("question", "What is six times seven?"), cfg.String("answer", "")
	return nil
}

func (p *provider) Widget(_ context.Context, _ sdk.WidgetRequest) (sdk.Widget, error) {
	return sdk.Widget{
		HTML:          `<label>` + html.EscapeString(p.question) + ` <input name="captcha_answer" required></label>`,
		ResponseField: "captcha_answer",
	}, nil
}

func (p *provider) Verify(_ context.Context, req sdk.VerifyRequest) (sdk.Verdict, error) {
	// Constant time, so the answer cannot be learnt by timing guesses.
	if subtle.ConstantTimeCompare([]byte(req.Token), []byte(p.answer)) != 1 {
		return sdk.Verdict{Reason: "wrong answer"}, nil // a refusal is not an error
	}
	return sdk.Verdict{OK: true}, nil
}

func main() {
	sdk.ServeCaptcha(manifest, &provider{})
}
