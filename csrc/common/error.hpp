// Error types of the core. Every rejected call throws one of these before it changes any state;
// the binding maps them onto the Python family AiosError -> ConfigError / UnschedulableError /
// TopologyError.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace aios {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input: the message names the field and the offending value.
class ConfigError : public Error {
 public:
  using Error::Error;
};

class UnschedulableError : public Error {
 public:
  using Error::Error;
};

class TopologyError : public Error {
 public:
  using Error::Error;
};

// Unknown id (task, node, constraint): a ConfigError that also reads as a lookup failure.
class NotFoundError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

inline std::string field_msg(const std::string& field, const std::string& problem) {
  return field + ": " + problem;
}

}  // namespace aios
