package app

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"tether/conn/wire"
)

// errNotJWT is a token that is not three base64url parts.
var errNotJWT = errors.New("not a JWT")

// TokenUser reads who a token belongs to from its claims (sub, name, role)
// without checking its signature: the server checks every token it is
// given, and the page only needs to tell the user's messages from the
// others' (StoreOptions.UserID).
func TokenUser(token string) (wire.User, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return wire.User{}, fmt.Errorf("failed to read the token: %w", errNotJWT)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return wire.User{}, fmt.Errorf("failed to read the token: %w: %w", errNotJWT, err)
	}
	var claims struct {
		Subject string `json:"sub"`
		Name    string `json:"name"`
		Role    string `json:"role"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return wire.User{}, fmt.Errorf("failed to read the token's claims: %w", err)
	}
	if claims.Subject == "" {
		return wire.User{}, errors.New("failed to read the token: it names no user (sub)")
	}
	return wire.User{ID: claims.Subject, Name: claims.Name, Role: claims.Role}, nil
}
