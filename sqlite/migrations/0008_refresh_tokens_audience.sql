-- 0008: refresh_tokens.audience, the RFC 8707 resources the family's
-- access tokens are for (token.Refresh.Audience), as a JSON array of
-- strings; '[]' (every existing token) is the service's own audience.
ALTER TABLE refresh_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '[]';
