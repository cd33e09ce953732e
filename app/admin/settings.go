package admin

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/plugins/sdk"
)

// settingsGroupOrder is the order of the settings tabs (docs/configuration.md#run-time-settings);
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
	Options                        []web.Option // a checkbox is checked when its option is
	Min, Max, MaxLen               int
	Error                          string
	// ShowWhen ("setting=value" or "setting!=value") shows the field only
	// while another of the form applies (static/js/app.js).
	ShowWhen string
}

// settingShowWhen are the settings that apply only with another's value.
var settingShowWhen = map[string]string{
	"license_code_custom_format": "license_code_format=custom",
	"license_code_random_length": "license_code_format=random",
	"captcha_forms":              "captcha_provider!=none",
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

// settingsRoot shows the first tab the admin may open (403 when none).
func (h *handlers) settingsRoot(c fiber.Ctx) error {
	tabs := allowedTabs(currentAdmin(c))
	if len(tabs) == 0 {
		return h.refuse(c, currentAdmin(c), admins.SettingsGeneral)
	}
	group := tabs[0].Key
	if group == signingKeysGroup {
		return h.signingKeys(c)
	}
	return h.showSettings(c, group, groupDefinitions(group))
}

// allowedTabs are the settings tabs whose permission a has.
func allowedTabs(a *admins.Admin) []settingsTab {
	var out []settingsTab
	for _, t := range settingsTabs() {
		if a.Can(settingsPermission(t.Key)) {
			out = append(out, t)
		}
	}
	return out
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
	changed, err := h.saveSettings(c, changes)
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
			Options: h.settingOptions(c, d, text[d.Key]), Min: d.Min, Max: d.Max, MaxLen: d.MaxLen, Error: errs[d.Key],
			ShowWhen: settingShowWhen[d.Key]}
		switch {
		case d.Kind == settings.Bool:
			f.Input = "checkbox"
			b, _ := settings.ParseBool(strings.TrimSpace(f.Value))
			f.Checked = b
		case d.Kind == settings.Enum || len(f.Options) > 0 && d.Kind == settings.String:
			f.Input = "select"
		case d.Kind == settings.List && len(d.Options) > 0:
			f.Input = "checkboxes"
			chosen := map[string]bool{}
			for _, v := range strings.Split(f.Value, "\n") {
				chosen[strings.TrimSpace(v)] = true
			}
			for i := range f.Options {
				f.Options[i].Checked = chosen[f.Options[i].Value]
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
		"Title": "Settings", "Section": "settings", "Tabs": allowedTabs(currentAdmin(c)), "Group": group,
		"GroupLabel": humanize(group), "Fields": list, "Invalid": len(errs) > 0,
	}
	fragment := "admin/settings/form"
	if group == releaseKeysGroup && currentAdmin(c).Can(admins.SettingsSigningKeys) {
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

// settingChoiceLabels are readable labels, with examples, of the values
// of enum settings; a value without one shows as it is stored.
var settingChoiceLabels = map[string]map[string]string{
	"license_code_format": {
		"uuid":   "UUID (e.g. CDE25DA0-5E2B-4C1A-9F0D-3B8E7A6C4F21)",
		"ulid":   "ULID, sortable by time (e.g. 01JEXQ4ZB9K3V7N2M8PQ5RTW6Y)",
		"random": "Random letters and digits of the length below (e.g. K7Q2ZP4MX9TA)",
		"custom": "Custom pattern (the format below)",
	},
	"captcha_provider": {
		"none":  "None",
		"math":  "Math question (built in)",
		"image": "Distorted-text picture (built in)",
	},
	"captcha_forms": {"login": "Sign in", "register": "Registration", "password_forgot": "Forgot password"},
}

// settingOptions are the choices a setting's form field offers: an enum's
// or a list's options with readable labels, the zone database's names for
// the timezone, the built-in CAPTCHA providers and the installed CAPTCHA
// plugins for captcha_provider. The current value is always among them.
// Nil for free-text settings.
func (h *handlers) settingOptions(c fiber.Ctx, d settings.Definition, current string) []web.Option {
	labels := settingChoiceLabels[d.Key]
	var values []string
	switch d.Key {
	case "timezone":
		values = settings.Zones()
	case "captcha_provider":
		values = []string{"none", "math", "image"}
		if h.plugins != nil {
			if list, err := h.plugins.List(c.Context()); err == nil {
				for _, p := range list {
					if p.Manifest.Kind == sdk.KindCaptcha {
						v := "plugin:" + p.Name
						values = append(values, v)
						label := "Plugin " + p.Name
						if p.Manifest.Description != "" {
							label += ": " + p.Manifest.Description
						}
						labels = maps.Clone(labels)
						labels[v] = label
					}
				}
			}
		}
	default:
		values = d.Options
	}
	if len(values) == 0 {
		return nil
	}
	if d.Kind != settings.List && current != "" && !slices.Contains(values, current) {
		values = append([]string{current}, values...)
	}
	out := make([]web.Option, len(values))
	for i, v := range values {
		out[i] = web.Option{Value: v, Label: v}
		if l, ok := labels[v]; ok {
			out[i].Label = l
		}
	}
	return out
}

// saveSettings stores changes in a transaction and, once committed, drops
// this node's settings snapshot, so its next page shows them at once; the
// other nodes drop theirs when the settings trigger's notification arrives.
func (h *handlers) saveSettings(c fiber.Ctx, changes map[string]string) ([]string, error) {
	var changed []string
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		changed, err = settings.Set(ctx, tx, source(c), changes)
		return err
	})
	if err == nil && h.settings != nil {
		h.settings.Invalidate()
	}
	return changed, err
}
