-- 0008: users.group_names, the groups of the user (sesame.User.Groups):
-- valid group names (sesame.ValidGroupName), sorted, without duplicates;
-- the empty array (every existing user) is no group.
ALTER TABLE users ADD COLUMN group_names text[] NOT NULL DEFAULT '{}';
