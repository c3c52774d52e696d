-- 0007: users.group_names, the groups of the user (sesame.User.Groups):
-- valid group names (sesame.ValidGroupName, which holds no space), sorted,
-- joined by one space; '' (every existing user) is no group.
ALTER TABLE users ADD COLUMN group_names TEXT NOT NULL DEFAULT '';
