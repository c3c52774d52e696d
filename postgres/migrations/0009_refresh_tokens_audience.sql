-- 0009: refresh_tokens.audience, the RFC 8707 resources the family's
-- access tokens are for (token.Refresh.Audience); the empty array (every
-- existing token) is the service's own audience.
ALTER TABLE refresh_tokens ADD COLUMN audience text[] NOT NULL DEFAULT '{}';
