// The "salesforce:" config section: the org to write to, how to authenticate, the client's
// settings, and the field that makes creates idempotent. The defaults are those of AuthOptions and
// SalesforceClientOptions, and the ones stated here; a program that wants others passes them as
// `defaults`.
#pragma once

#include <string>
#include <string_view>

#include "sluice/core/status.h"
#include "sluice/salesforce/auth.h"
#include "sluice/salesforce/client.h"

namespace sluice::config {
class Config;
}  // namespace sluice::config

namespace sluice::salesforce {

// Thread-safety: a value type.
struct SalesforceSection {
  // `login_url` -> auth.login_url (required in the file); `auth.flow` ("client_credentials" or
  // "jwt_bearer"), `auth.client_id`, and per flow `auth.client_secret` (or `client_secret_file`),
  // or `auth.username`, `auth.private_key_file`, `auth.audience`.
  AuthOptions auth;
  // `api_version` and `request_timeout` -> the fields of those names (the HTTP transport's
  // deadline too). The rest of the client's options are not in the file.
  SalesforceClientOptions client;
  // `ca_file`: CA bundle for TLS. Empty (default): the system's.
  std::string ca_file;
  // `event_id_field`: each record also carries its event id in this field, and creates become
  // upserts on it, so that Salesforce itself refuses to apply one event twice: a crash between
  // Salesforce's answer and the idempotency store's write then updates the record it created
  // instead of creating a second one. It must be an External ID field on every object written.
  // Default "Sluice_Event_Id__c".
  std::string event_id_field = "Sluice_Event_Id__c";
  // `accept_duplicates_on_crash`: with event_id_field empty, Validate fails unless this is true
  // (creates then go out as plain creates, and a crash in that window creates those records
  // twice). Default false.
  bool accept_duplicates_on_crash = false;

  // Ok, or InvalidArgument naming the key (without the section's name).
  Status Validate() const;
};

// Reads the section at `pointer` (e.g. "/salesforce") over `defaults` and validates it. Secrets
// come through Config::GetSecret, so `client_secret_file` works. Errors name the file and the key.
Result<SalesforceSection> ReadSalesforceSection(const config::Config& config,
                                                std::string_view pointer,
                                                SalesforceSection defaults = {});

}  // namespace sluice::salesforce
