-- +goose Up
-- The replica: one table per GitHub object kind, keyed by GitHub's id.
-- Every object table has typed columns for filtering and joining, data (the
-- richest version of the object seen, as JSON), GitHub's own timestamps,
-- deleted_at (osprey keeps deleted objects), and the freshness columns
-- last_replicated_via_webhook_at / _via_api_at / last_replicated_at.
-- Tables whose objects GitHub gives no updated_at (and accounts, whose
-- nested copies have none) have observed_at: when GitHub sent the copy
-- stored (a delivery's received_at, or when the API was read), which orders
-- those copies instead.
-- docs/schema.md describes every table; the names are a public interface.

-- accounts: users, organisations, bots and mannequins (type says which).
CREATE TABLE accounts (
    id                             bigint PRIMARY KEY,
    login                          text NOT NULL,
    type                           text,
    node_id                        text,
    site_admin                     boolean,
    name                           text,
    email                          text,
    company                        text,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX accounts_login_idx ON accounts (lower(login));

CREATE TABLE repositories (
    id                             bigint PRIMARY KEY,
    owner_id                       bigint,
    owner_login                    text,
    name                           text NOT NULL,
    full_name                      text NOT NULL,
    private                        boolean,
    fork                           boolean,
    archived                       boolean,
    disabled                       boolean,
    visibility                     text,
    default_branch                 text,
    language                       text,
    stargazers_count               integer,
    forks_count                    integer,
    open_issues_count              integer,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    pushed_at                      timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX repositories_full_name_idx ON repositories (lower(full_name));
CREATE INDEX repositories_owner_idx ON repositories (owner_id);

CREATE TABLE labels (
    id                             bigint PRIMARY KEY,
    repository_id                  bigint,
    name                           text NOT NULL,
    color                          text,
    description                    text,
    is_default                     boolean,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX labels_repository_idx ON labels (repository_id, lower(name));

CREATE TABLE milestones (
    id                             bigint PRIMARY KEY,
    repository_id                  bigint,
    number                         integer NOT NULL,
    title                          text,
    state                          text,
    creator_id                     bigint,
    creator_login                  text,
    open_issues                    integer,
    closed_issues                  integer,
    due_on                         timestamptz,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    closed_at                      timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX milestones_repository_idx ON milestones (repository_id, number);

-- issues holds issues and, when an event shows a pull request as an issue
-- (issue_comment on a pull request), that issue too: is_pull_request says so.
CREATE TABLE issues (
    id                             bigint PRIMARY KEY,
    repository_id                  bigint,
    number                         integer NOT NULL,
    is_pull_request                boolean NOT NULL DEFAULT false,
    title                          text,
    state                          text,
    state_reason                   text,
    locked                         boolean,
    user_id                        bigint,
    user_login                     text,
    author_association             text,
    assignee_logins                text[],
    milestone_id                   bigint,
    comments                       integer,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    closed_at                      timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX issues_repository_number_idx ON issues (repository_id, number);
CREATE INDEX issues_open_idx ON issues (repository_id) WHERE state = 'open' AND deleted_at IS NULL;
CREATE INDEX issues_user_idx ON issues (user_id);

CREATE TABLE pull_requests (
    id                             bigint PRIMARY KEY,
    repository_id                  bigint,
    number                         integer NOT NULL,
    title                          text,
    state                          text,
    draft                          boolean,
    locked                         boolean,
    merged                         boolean,
    merged_at                      timestamptz,
    merged_by_id                   bigint,
    merged_by_login                text,
    merge_commit_sha               text,
    user_id                        bigint,
    user_login                     text,
    author_association             text,
    head_ref                       text,
    head_sha                       text,
    head_repository_id             bigint,
    base_ref                       text,
    base_sha                       text,
    milestone_id                   bigint,
    assignee_logins                text[],
    requested_reviewer_logins      text[],
    comments                       integer,
    review_comments                integer,
    commits                        integer,
    additions                      integer,
    deletions                      integer,
    changed_files                  integer,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    closed_at                      timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX pull_requests_repository_number_idx ON pull_requests (repository_id, number);
CREATE INDEX pull_requests_open_idx ON pull_requests (repository_id, number) WHERE state = 'open' AND deleted_at IS NULL;
CREATE INDEX pull_requests_user_idx ON pull_requests (user_id);
CREATE INDEX pull_requests_user_login_idx ON pull_requests (lower(user_login));

-- pull_request_files: the files of a pull request as the API last listed
-- them (at head_sha). A file no longer in the list has deleted_at set.
CREATE TABLE pull_request_files (
    pull_request_id                bigint NOT NULL,
    filename                       text NOT NULL,
    repository_id                  bigint,
    head_sha                       text,
    sha                            text,
    status                         text,
    additions                      integer,
    deletions                      integer,
    changes                        integer,
    previous_filename              text,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED,
    PRIMARY KEY (pull_request_id, filename)
);

-- issue_comments: conversation comments on issues and pull requests, found by
-- (repository_id, issue_number) whichever the conversation belongs to.
CREATE TABLE issue_comments (
    id                             bigint PRIMARY KEY,
    repository_id                  bigint,
    issue_number                   integer,
    issue_id                       bigint,
    is_pull_request                boolean,
    user_id                        bigint,
    user_login                     text,
    author_association             text,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX issue_comments_issue_idx ON issue_comments (repository_id, issue_number);
CREATE INDEX issue_comments_user_idx ON issue_comments (user_id);

CREATE TABLE pull_request_reviews (
    id                             bigint PRIMARY KEY,
    pull_request_id                bigint,
    repository_id                  bigint,
    pull_request_number            integer,
    user_id                        bigint,
    user_login                     text,
    author_association             text,
    state                          text,
    commit_id                      text,
    submitted_at                   timestamptz,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX pull_request_reviews_pull_request_idx ON pull_request_reviews (pull_request_id);
CREATE INDEX pull_request_reviews_user_idx ON pull_request_reviews (user_id);

CREATE TABLE pull_request_review_comments (
    id                             bigint PRIMARY KEY,
    pull_request_id                bigint,
    repository_id                  bigint,
    pull_request_number            integer,
    pull_request_review_id         bigint,
    in_reply_to_id                 bigint,
    thread_node_id                 text,
    user_id                        bigint,
    user_login                     text,
    author_association             text,
    path                           text,
    line                           integer,
    original_line                  integer,
    side                           text,
    commit_id                      text,
    original_commit_id             text,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX pull_request_review_comments_pull_request_idx ON pull_request_review_comments (pull_request_id);
CREATE INDEX pull_request_review_comments_review_idx ON pull_request_review_comments (pull_request_review_id);

-- pull_request_review_threads: resolution of review threads. GitHub gives
-- threads no numeric id, so the GraphQL node id is the key.
CREATE TABLE pull_request_review_threads (
    node_id                        text PRIMARY KEY,
    pull_request_id                bigint,
    repository_id                  bigint,
    pull_request_number            integer,
    resolved                       boolean NOT NULL,
    resolved_by_login              text,
    comment_ids                    bigint[],
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);
CREATE INDEX pull_request_review_threads_pull_request_idx ON pull_request_review_threads (pull_request_id);

-- issue_labels: the labels an issue or pull request carries now. Pull
-- requests are issues to GitHub's labels, so the key is the number.
CREATE TABLE issue_labels (
    repository_id                  bigint NOT NULL,
    issue_number                   integer NOT NULL,
    label_id                       bigint NOT NULL,
    label_name                     text NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED,
    PRIMARY KEY (repository_id, issue_number, label_id)
);
CREATE INDEX issue_labels_label_idx ON issue_labels (label_id);

-- org_memberships: who belongs to which organisation (organization events:
-- member_added, member_removed, member_invited). A removed member keeps the
-- row with deleted_at set; a pending invitation has state 'pending'.
CREATE TABLE org_memberships (
    organization_id                bigint NOT NULL,
    user_id                        bigint NOT NULL,
    organization_login             text,
    user_login                     text,
    role                           text,
    state                          text,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX org_memberships_user_idx ON org_memberships (user_id);

-- repository_collaborators: people given access to one repository (member
-- events). Removed collaborators keep the row with deleted_at set.
CREATE TABLE repository_collaborators (
    repository_id                  bigint NOT NULL,
    user_id                        bigint NOT NULL,
    user_login                     text,
    permission                     text,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED,
    PRIMARY KEY (repository_id, user_id)
);
CREATE INDEX repository_collaborators_user_idx ON repository_collaborators (user_id);

CREATE TABLE teams (
    id                             bigint PRIMARY KEY,
    organization_id                bigint,
    slug                           text,
    name                           text,
    privacy                        text,
    parent_id                      bigint,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED
);

-- team_memberships: who is in which team (membership events).
CREATE TABLE team_memberships (
    team_id                        bigint NOT NULL,
    user_id                        bigint NOT NULL,
    organization_id                bigint,
    user_login                     text,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    observed_at                    timestamptz,
    deleted_at                     timestamptz,
    data                           jsonb COMPRESSION lz4 NOT NULL,
    last_replicated_via_webhook_at timestamptz,
    last_replicated_via_api_at     timestamptz,
    last_replicated_at             timestamptz GENERATED ALWAYS AS
        (GREATEST(last_replicated_via_webhook_at, last_replicated_via_api_at)) STORED,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_memberships_user_idx ON team_memberships (user_id);

-- +goose Down
DROP TABLE team_memberships;
DROP TABLE teams;
DROP TABLE repository_collaborators;
DROP TABLE org_memberships;
DROP TABLE issue_labels;
DROP TABLE pull_request_review_threads;
DROP TABLE pull_request_review_comments;
DROP TABLE pull_request_reviews;
DROP TABLE issue_comments;
DROP TABLE pull_request_files;
DROP TABLE pull_requests;
DROP TABLE issues;
DROP TABLE milestones;
DROP TABLE labels;
DROP TABLE repositories;
DROP TABLE accounts;
