#include "sluice/relay/relay.h"

#include "engine.h"

namespace sluice::relay {

Result<std::unique_ptr<Relay>> Relay::Create(const RelayOptions& options, RelayParts parts) {
  ASSIGN_OR_RETURN(auto engine, Engine::Create(options, std::move(parts)));
  return std::unique_ptr<Relay>(new Relay(std::move(engine)));
}

Relay::Relay(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}
Relay::~Relay() = default;

Status Relay::Run(const ShutdownToken& shutdown) {
  RETURN_IF_ERROR(engine_->Start());
  while (!shutdown.requested()) {
    Status s = engine_->Step(std::chrono::milliseconds(100));
    if (!s.ok()) {
      (void)engine_->Finish();
      return s;
    }
  }
  return engine_->Finish();
}

Status Relay::Start() { return engine_->Start(); }
Status Relay::Step(Clock::Duration max_wait) { return engine_->Step(max_wait); }
Status Relay::Finish() { return engine_->Finish(); }
Clock::TimePoint Relay::NextWake() const { return engine_->NextWake(); }
RelayHealth Relay::health() const { return engine_->health(); }
std::string Relay::RenderMetrics() const { return engine_->RenderMetrics(); }
std::vector<std::string> Relay::assigned_topics() const { return engine_->assigned_topics(); }
void Relay::ReportLag(const std::string& topic, const std::vector<kafka::PartitionLag>& lag) {
  engine_->ReportLag(topic, lag);
}

}  // namespace sluice::relay
