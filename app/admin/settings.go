package admin

import (
	"context"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// settingsGroupOrder is the order of the settings tabs (product.md §19);
// groups without any definition get no tab.
var settingsGroupOrder = []string{"general", "licenses", "activation", "api", "blacklists", "portal",
	"captcha", "emails", "webhooks", "updates", "signing-keys", "retention", "migration"}

// settingsTab is one group's tab.
type settingsTab struct {
	Key, Label string
}

// settingField is one setting as the form draws it.
type settingField struct {
	Key, Label, Description, Input string // Input: checkbox, select, checkboxes, textarea, number, text
	Value                          string
	Checked                        bool
	Options                        []string
	Selected                       map[string]bool
	Min, Max, MaxLen               int
	Error                          string
}

func settingsTabs() []settingsTab {
	// Signing keys are not settings but live among them: their own page.
	present := map[string]bool{signingKeysGroup: true}
	for _, d := range settings.Definitions() {
		present[d.Group] = true
	}
	var tabs []settingsTab
	for _, g := range settingsGroupOrder {
		if present[g] {
			tabs = append(tabs, settingsTab{Key: g, Label: humanize(g)})
			delete(present, g)
		}
	}
	for _, d := range settings.Definitions() { // groups not in the list above, last
		if present[d.Group] {
			tabs = append(tabs, settingsTab{Key: d.Group, Label: humanize(d.Group)})
			delete(present, d.Group)
		}
	}
	return tabs
}

func groupDefinitions(group string) []settings.Definition {
	var out []settings.Definition
	for _, d := range settings.Definitions() {
		if d.Group == group {
			out = append(out, d)
		}
	}
	return out
}

// settingsRoot shows the first tab.
func (h *handlers) settingsRoot(c fiber.Ctx) error {
	group := settingsTabs()[0].Key
	return h.showSettings(c, group, groupDefinitions(group))
}

// settingsGroup shows one group's form with the current values.
func (h *handlers) settingsGroup(c fiber.Ctx) error {
	group, defs, err := settingsGroupOf(c)
	if err != nil {
		return err
	}
	return h.showSettings(c, group, defs)
}

func (h *handlers) showSettings(c fiber.Ctx, group string, defs []settings.Definition) error {
	cur, err := settings.Load(c.Context(), h.db)
	if err != nil {
		return err
	}
	text := valuesText(cur)
	return h.renderSettings(c, fiber.StatusOK, group, defs, text, nil)
}

// settingsSave validates and stores the group's settings in one go; bad
// values come back with their messages next to them, typed text kept.
func (h *handlers) settingsSave(c fiber.Ctx) error {
	group, defs, err := settingsGroupOf(c)
	if err != nil {
		return err
	}
	changes := readSettingsForm(c, defs)
	var changed []string
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		changed, err = settings.Set(ctx, tx, source(c), changes)
		return err
	})
	if verr, ok := fields.As(err); ok {
		errs := map[string]string{}
		for k, msg := range verr.Map() {
			base, _, _ := strings.Cut(k, ".")
			if _, seen := errs[base]; !seen {
				errs[base] = msg
			}
		}
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, group, defs, changes, errs)
	}
	if err != nil {
		return err
	}
	if h.settings != nil {
		h.settings.Invalidate()
	}
	msg := "Nothing changed."
	if len(changed) > 0 {
		msg = humanize(group) + " settings saved."
	}
	web.AddFlash(c, web.FlashSuccess, msg)
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/settings/"+group)
}

func settingsGroupOf(c fiber.Ctx) (string, []settings.Definition, error) {
	group := c.Params("group")
	defs := groupDefinitions(group)
	if len(defs) == 0 {
		return "", nil, fiber.ErrNotFound
	}
	return group, defs, nil
}

// readSettingsForm turns the posted form into Set's text values: an
// unticked checkbox is false, list inputs are one entry per line.
func readSettingsForm(c fiber.Ctx, defs []settings.Definition) map[string]string {
	args := c.Request().PostArgs()
	out := make(map[string]string, len(defs))
	for _, d := range defs {
		switch {
		case d.Kind == settings.Bool:
			out[d.Key] = strconv.FormatBool(c.FormValue(d.Key) == "1")
		case d.Kind == settings.List && len(d.Options) > 0:
			var vals []string
			for _, v := range args.PeekMulti(d.Key) {
				vals = append(vals, string(v))
			}
			out[d.Key] = strings.Join(vals, "\n")
		default:
			out[d.Key] = c.FormValue(d.Key)
		}
	}
	return out
}

// valuesText is every setting of v in the text form Set takes back.
func valuesText(v *settings.Values) map[string]string {
	out := map[string]string{}
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		key := rv.Type().Field(i).Tag.Get("setting")
		if key == "" {
			continue
		}
		switch f := rv.Field(i).Interface().(type) {
		case bool:
			out[key] = strconv.FormatBool(f)
		case int:
			out[key] = strconv.Itoa(f)
		case string:
			out[key] = f
		case []string:
			out[key] = strings.Join(f, "\n")
		case []int:
			s := make([]string, len(f))
			for j, n := range f {
				s[j] = strconv.Itoa(n)
			}
			out[key] = strings.Join(s, "\n")
		}
	}
	return out
}

func (h *handlers) renderSettings(c fiber.Ctx, status int, group string, defs []settings.Definition, text, errs map[string]string) error {
	return h.renderSettingsPage(c, status, group, defs, text, errs, releaseKeyForm{}, nil)
}

// renderSettingsPage draws a settings tab; the updates tab also lists the
// trusted release keys with the form adding one (keyForm, keyErrs).
func (h *handlers) renderSettingsPage(c fiber.Ctx, status int, group string, defs []settings.Definition, text, errs map[string]string,
	keyForm releaseKeyForm, keyErrs map[string]string) error {
	list := make([]settingField, len(defs))
	for i, d := range defs {
		f := settingField{Key: d.Key, Label: humanize(d.Key), Description: d.Description, Value: text[d.Key],
			Options: d.Options, Min: d.Min, Max: d.Max, MaxLen: d.MaxLen, Error: errs[d.Key]}
		switch {
		case d.Kind == settings.Bool:
			f.Input = "checkbox"
			b, _ := settings.ParseBool(strings.TrimSpace(f.Value))
			f.Checked = b
		case d.Kind == settings.Enum:
			f.Input = "select"
		case d.Kind == settings.List && len(d.Options) > 0:
			f.Input = "checkboxes"
			f.Selected = map[string]bool{}
			for _, v := range strings.Split(f.Value, "\n") {
				f.Selected[strings.TrimSpace(v)] = true
			}
		case d.Kind == settings.List || d.Kind == settings.IntList:
			f.Input = "textarea"
		case d.Kind == settings.Int:
			f.Input = "number"
		default:
			f.Input = "text"
		}
		list[i] = f
	}
	data := fiber.Map{
		"Title": "Settings", "Section": "settings", "Tabs": settingsTabs(), "Group": group,
		"GroupLabel": humanize(group), "Fields": list, "Invalid": len(errs) > 0,
	}
	fragment := "admin/settings/form"
	if group == releaseKeysGroup {
		keys, err := releasekeys.List(c.Context(), h.db)
		if err != nil {
			return err
		}
		data["ReleaseKeys"], data["KeyForm"], data["KeyErrors"], data["ShowReleaseKeys"] = keys, keyForm, keyErrs, true
		if keyErrs != nil {
			fragment = "admin/settings/release-keys"
		}
	}
	return web.Render(c, status, web.View{
		Page: "admin/settings/index", Layout: "layouts/admin", Fragment: fragment, Data: data,
	})
}

// humanize turns a key into a label: "api" → "API", "app_name" → "App name".
func humanize(key string) string {
	words := strings.FieldsFunc(key, func(r rune) bool { return r == '_' || r == '-' })
	for i, w := range words {
		switch w {
		case "api", "ip", "ips", "url", "id":
			words[i] = strings.ToUpper(w)
			if w == "ips" {
				words[i] = "IPs"
			}
		}
	}
	if len(words) > 0 {
		words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	}
	return strings.Join(words, " ")
}
