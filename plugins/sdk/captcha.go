package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	captchav1 "github.com/licensor/licensor/plugins/proto/captcha/v1"
)

// Captcha is a CAPTCHA provider: the widget a portal form shows and the
// check of what the browser posts back.
type Captcha interface {
	Configurable
	Widget(ctx context.Context, req WidgetRequest) (Widget, error)
	Verify(ctx context.Context, req VerifyRequest) (Verdict, error)
}

// WidgetRequest asks for the widget of one form.
type WidgetRequest struct {
	// Form names the form ("login", "register", "password_forgot"); score
	// based providers use it as the action.
	Form string
	// Locale is the page's language (BCP 47), possibly empty.
	Locale string
}

// Widget is what the form shows.
type Widget struct {
	// HTML goes inside the form, before the submit button.
	HTML string
	// ScriptURLs are loaded by the page (async, deferred).
	ScriptURLs []string
	// ResponseField is the form field carrying the token
	// ("g-recaptcha-response").
	ResponseField string
	// Origins are where the widget loads scripts and frames from
	// ("https://www.google.com"); the page's Content-Security-Policy
	// allows exactly these besides Licensor itself.
	Origins []string
}

// VerifyRequest is one submitted response.
type VerifyRequest struct {
	Token    string
	RemoteIP string
	Form     string
}

// Verdict is the outcome of a verification. A refused token is a Verdict
// with OK false and a Reason, not an error: errors mean the check could not
// be made (provider down).
type Verdict struct {
	OK     bool
	Reason string
	Score  float64
}

// ServeCaptcha serves c as a CAPTCHA plugin described by m (its kind is set
// to captcha). It returns only when run as "<executable> manifest".
func ServeCaptcha(m Manifest, c Captcha) {
	serve(m, KindCaptcha, &captchaPlugin{impl: c})
}

type captchaPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Captcha
}

func (p *captchaPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	captchav1.RegisterCaptchaServer(s, &captchaServer{impl: p.impl})
	return nil
}

func (p *captchaPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &CaptchaClient{rpc: captchav1.NewCaptchaClient(c)}, nil
}

type captchaServer struct {
	captchav1.UnimplementedCaptchaServer
	impl Captcha
}

func (s *captchaServer) Configure(ctx context.Context, req *captchav1.ConfigureRequest) (*captchav1.ConfigureResponse, error) {
	fe, err := configure(ctx, s.impl, req.GetValues())
	if err != nil {
		return nil, err
	}
	return &captchav1.ConfigureResponse{FieldErrors: fe}, nil
}

func (s *captchaServer) Widget(ctx context.Context, req *captchav1.WidgetRequest) (*captchav1.WidgetResponse, error) {
	w, err := s.impl.Widget(ctx, WidgetRequest{Form: req.GetForm(), Locale: req.GetLocale()})
	if err != nil {
		return nil, err
	}
	return &captchav1.WidgetResponse{Html: w.HTML, ScriptUrls: w.ScriptURLs, ResponseField: w.ResponseField, Origins: w.Origins}, nil
}

func (s *captchaServer) Verify(ctx context.Context, req *captchav1.VerifyRequest) (*captchav1.VerifyResponse, error) {
	v, err := s.impl.Verify(ctx, VerifyRequest{Token: req.GetToken(), RemoteIP: req.GetRemoteIp(), Form: req.GetForm()})
	if err != nil {
		return nil, err
	}
	return &captchav1.VerifyResponse{Ok: v.OK, Reason: v.Reason, Score: v.Score}, nil
}

// CaptchaClient is the host's end of a CAPTCHA plugin: it implements
// Captcha by calling the plugin process.
type CaptchaClient struct {
	rpc captchav1.CaptchaClient
}

// Configure sends the settings; refused values come back as FieldErrors.
func (c *CaptchaClient) Configure(ctx context.Context, cfg Config) error {
	res, err := c.rpc.Configure(ctx, &captchav1.ConfigureRequest{Values: cfg})
	if err != nil {
		return err
	}
	return fieldErrorsOrNil(res.GetFieldErrors())
}

// Widget asks the plugin for a form's widget.
func (c *CaptchaClient) Widget(ctx context.Context, req WidgetRequest) (Widget, error) {
	res, err := c.rpc.Widget(ctx, &captchav1.WidgetRequest{Form: req.Form, Locale: req.Locale})
	if err != nil {
		return Widget{}, err
	}
	return Widget{HTML: res.GetHtml(), ScriptURLs: res.GetScriptUrls(), ResponseField: res.GetResponseField(), Origins: res.GetOrigins()}, nil
}

// Verify asks the plugin to check a token.
func (c *CaptchaClient) Verify(ctx context.Context, req VerifyRequest) (Verdict, error) {
	res, err := c.rpc.Verify(ctx, &captchav1.VerifyRequest{Token: req.Token, RemoteIp: req.RemoteIP, Form: req.Form})
	if err != nil {
		return Verdict{}, err
	}
	return Verdict{OK: res.GetOk(), Reason: res.GetReason(), Score: res.GetScore()}, nil
}
