#include "sluice/salesforce/section.h"

#include "sluice/config/config.h"
#include "sluice/config/section.h"

namespace sluice::salesforce {

Status SalesforceSection::Validate() const {
  if (event_id_field.empty() && !accept_duplicates_on_crash) {
    return InvalidArgumentError(
        "event_id_field is empty: creates would go out as plain creates, and a crash between "
        "Salesforce's answer and the idempotency store's write would create those records twice. "
        "Set salesforce.event_id_field to an External ID field on every object written (default "
        "Sluice_Event_Id__c), or set salesforce.accept_duplicates_on_crash: true to accept that");
  }
  return Status::Ok();
}

Result<SalesforceSection> ReadSalesforceSection(const config::Config& c, std::string_view pointer,
                                                SalesforceSection defaults) {
  using config::SectionKey;
  SalesforceSection s = std::move(defaults);
  ASSIGN_OR_RETURN(s.auth.login_url, c.GetString(SectionKey(pointer, "login_url")));
  s.client.api_version = c.GetString(SectionKey(pointer, "api_version"), s.client.api_version);
  RETURN_IF_ERROR(
      config::ReadDuration(c, SectionKey(pointer, "request_timeout"), &s.client.request_timeout));
  s.ca_file = c.GetString(SectionKey(pointer, "ca_file"), s.ca_file);
  s.event_id_field = c.GetString(SectionKey(pointer, "event_id_field"), s.event_id_field);
  s.accept_duplicates_on_crash =
      c.GetBool(SectionKey(pointer, "accept_duplicates_on_crash"), s.accept_duplicates_on_crash);
  const std::string auth = SectionKey(pointer, "auth");
  const std::string flow =
      c.GetString(SectionKey(auth, "flow"),
                  s.auth.flow == AuthFlow::kJwtBearer ? "jwt_bearer" : "client_credentials");
  ASSIGN_OR_RETURN(s.auth.client_id, c.GetString(SectionKey(auth, "client_id")));
  if (flow == "jwt_bearer") {
    s.auth.flow = AuthFlow::kJwtBearer;
    ASSIGN_OR_RETURN(s.auth.username, c.GetString(SectionKey(auth, "username")));
    ASSIGN_OR_RETURN(s.auth.private_key_file, c.GetString(SectionKey(auth, "private_key_file")));
    s.auth.audience = c.GetString(SectionKey(auth, "audience"), s.auth.audience);
  } else {
    s.auth.flow = AuthFlow::kClientCredentials;
    ASSIGN_OR_RETURN(s.auth.client_secret, c.GetSecret(SectionKey(auth, "client_secret")));
  }
  RETURN_IF_ERROR(s.Validate().WithContext(c.name() + ": " + config::DottedName(pointer)));
  return s;
}

}  // namespace sluice::salesforce
