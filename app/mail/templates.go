package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	texttemplate "text/template"
)

// templates are the parsed views/emails/ files: for each kind a body in
// HTML and in text, and the layout each body is set in.
type templates struct {
	htmlLayout *htmltemplate.Template
	textLayout *texttemplate.Template
	html       map[string]*htmltemplate.Template
	text       map[string]*texttemplate.Template
}

// layoutData is what the layouts see.
type layoutData struct {
	AppName string
	BaseURL string
	Subject string
	Body    any // htmltemplate.HTML for the HTML layout, string for text
}

func parseTemplates(views fs.FS) (*templates, error) {
	t := &templates{html: map[string]*htmltemplate.Template{}, text: map[string]*texttemplate.Template{}}
	var err error
	if t.htmlLayout, err = htmltemplate.ParseFS(views, "emails/layout.html"); err != nil {
		return nil, fmt.Errorf("mail: parse layout: %w", err)
	}
	if t.textLayout, err = texttemplate.ParseFS(views, "emails/layout.txt"); err != nil {
		return nil, fmt.Errorf("mail: parse layout: %w", err)
	}
	for _, k := range Kinds {
		h, err := htmltemplate.ParseFS(views, "emails/"+k+".html")
		if err != nil {
			return nil, fmt.Errorf("mail: parse %s: %w", k, err)
		}
		x, err := texttemplate.ParseFS(views, "emails/"+k+".txt")
		if err != nil {
			return nil, fmt.Errorf("mail: parse %s: %w", k, err)
		}
		t.html[k], t.text[k] = h.Option("missingkey=error"), x.Option("missingkey=error")
	}
	return t, nil
}

// render draws kind's body with data into the layouts.
func (t *templates) render(kind string, layout layoutData, data any) (html, text string, err error) {
	h, ok := t.html[kind]
	if !ok {
		return "", "", fmt.Errorf("mail: no template %q", kind)
	}
	var body, out bytes.Buffer
	if err := h.Execute(&body, data); err != nil {
		return "", "", fmt.Errorf("mail: render %s.html: %w", kind, err)
	}
	layout.Body = htmltemplate.HTML(body.String()) //nolint:gosec // the body was escaped by html/template
	if err := t.htmlLayout.Execute(&out, layout); err != nil {
		return "", "", fmt.Errorf("mail: render layout.html: %w", err)
	}
	html = out.String()

	body.Reset()
	out.Reset()
	if err := t.text[kind].Execute(&body, data); err != nil {
		return "", "", fmt.Errorf("mail: render %s.txt: %w", kind, err)
	}
	layout.Body = "\n" + body.String()
	if err := t.textLayout.Execute(&out, layout); err != nil {
		return "", "", fmt.Errorf("mail: render layout.txt: %w", err)
	}
	return html, out.String(), nil
}
