package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/jose"
)

// Limits of [LoadKeySet] for a URL.
const (
	KeySetTimeout  = 10 * time.Second
	MaxKeySetBytes = 1 << 20
)

// LoadKeySet reads the keys that verify a token: a JWK Set or a single
// JWK, from a file or, when source starts with http:// or https://, from
// that URL (GET, at most [KeySetTimeout] and [MaxKeySetBytes], redirects
// followed as net/http does). client nil means a default client. The keys
// are parsed by package jose, as strictly as Sesame's verifier reads them.
func LoadKeySet(ctx context.Context, source string, client *http.Client) (*jose.KeySet, error) {
	var data []byte
	var err error
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		data, err = fetchKeySet(ctx, source, client)
	} else {
		data, err = readFileLimited(source)
	}
	if err != nil {
		return nil, err
	}
	ks, errSet := jose.ParseJWKS(data)
	if errSet == nil {
		return ks, nil
	}
	if key, err := jose.ParseJWK(data); err == nil {
		return jose.NewKeySet(key)
	}
	return nil, fmt.Errorf("%s: %w", source, errSet)
}

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeySetBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxKeySetBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxKeySetBytes)
	}
	return data, nil
}

func fetchKeySet(ctx context.Context, url string, client *http.Client) ([]byte, error) {
	if client == nil {
		client = &http.Client{}
	}
	ctx, cancel := context.WithTimeout(ctx, KeySetTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks URL: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("fetch %s: no answer within %v", url, KeySetTimeout)
		}
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", url, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeySetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if len(data) > MaxKeySetBytes {
		return nil, fmt.Errorf("fetch %s: larger than %d bytes", url, MaxKeySetBytes)
	}
	return data, nil
}
