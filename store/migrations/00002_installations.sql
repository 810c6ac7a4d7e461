-- +goose Up
-- installations: one row per installation of the app, kept after deletion.
CREATE TABLE installations (
    id                             bigint PRIMARY KEY,
    app_id                         bigint,
    account_id                     bigint,
    account_login                  text,
    account_type                   text,
    target_type                    text,
    repository_selection           text,
    permissions                    jsonb,
    events                         text[],
    created_at                     timestamptz,
    updated_at                     timestamptz,
    suspended_at                   timestamptz,
    suspended_by                   text,
    deleted_at                     timestamptz,
    data                           jsonb NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);

CREATE INDEX installations_account_login_idx ON installations (lower(account_login));

-- installation_repositories says which repositories an installation covers now
-- (removed_at IS NULL) and which it covered before.
CREATE TABLE installation_repositories (
    installation_id bigint NOT NULL REFERENCES installations (id),
    repository_id   bigint NOT NULL,
    full_name       text NOT NULL,
    private         boolean,
    added_at        timestamptz NOT NULL,
    removed_at      timestamptz,
    PRIMARY KEY (installation_id, repository_id)
);

CREATE INDEX installation_repositories_full_name_idx ON installation_repositories (lower(full_name));

-- +goose Down
DROP TABLE installation_repositories;
DROP TABLE installations;
