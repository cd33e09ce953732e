package fields

import (
	"fmt"
	"strings"
)

// The messages of docs/api/conventions.md#validation-messages, built from a
// field name. They are the contract of the API's 422 bodies, so every package
// uses these and never writes its own wording for the same rule.

// Label is how a field is named in messages: product_id → "product id".
func Label(field string) string { return strings.ReplaceAll(field, "_", " ") }

func Required(f string) string { return fmt.Sprintf("The %s field is required.", Label(f)) }

func RequiredWithout(f, other string) string {
	return fmt.Sprintf("The %s field is required when %s is not present.", Label(f), Label(other))
}

func MaxLen(f string, n int) string {
	return fmt.Sprintf("The %s field must not be greater than %d characters.", Label(f), n)
}

func MinLen(f string, n int) string {
	return fmt.Sprintf("The %s field must be at least %d characters.", Label(f), n)
}

func Integer(f string) string { return fmt.Sprintf("The %s field must be an integer.", Label(f)) }

func Min(f string, n int) string {
	return fmt.Sprintf("The %s field must be at least %d.", Label(f), n)
}

// Max is not in the table of docs/api/conventions.md#validation-messages; it
// follows the same wording for the upper bound of a ranged setting.
func Max(f string, n int) string {
	return fmt.Sprintf("The %s field must not be greater than %d.", Label(f), n)
}

func Boolean(f string) string { return fmt.Sprintf("The %s field must be true or false.", Label(f)) }

func Date(f string) string { return fmt.Sprintf("The %s field must be a valid date.", Label(f)) }

func FutureDate(f string) string {
	return fmt.Sprintf("The %s field must be a date after now.", Label(f))
}

func Email(f string) string {
	return fmt.Sprintf("The %s field must be a valid email address.", Label(f))
}

func IP(f string) string {
	return fmt.Sprintf("The %s field must be a valid IP address or CIDR range.", Label(f))
}

func Domain(f string) string {
	return fmt.Sprintf("The %s field must be a valid domain name.", Label(f))
}

func Format(f string) string { return fmt.Sprintf("The %s field format is invalid.", Label(f)) }

func Selected(f string) string { return fmt.Sprintf("The selected %s is invalid.", Label(f)) }

func Taken(f string) string { return fmt.Sprintf("The %s has already been taken.", Label(f)) }

func Immutable(f string) string { return fmt.Sprintf("The %s cannot be changed.", Label(f)) }
