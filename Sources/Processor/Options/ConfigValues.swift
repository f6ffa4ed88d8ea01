import Configuration

/// Parsed options collected by configuration key, for an `InMemoryProvider` in front of the
/// environment (the pattern of swift-configuration's "Integrating with Swift Argument Parser").
struct ConfigValues {
    private(set) var values: [AbsoluteConfigKey: ConfigValue] = [:]

    mutating func set(_ key: String, _ value: String?, isSecret: Bool = false) {
        if let value { values[AbsoluteConfigKey(ConfigKey(key))] = ConfigValue(.string(value), isSecret: isSecret) }
    }

    mutating func set(_ key: String, _ value: Int?) {
        if let value { values[AbsoluteConfigKey(ConfigKey(key))] = ConfigValue(.int(value), isSecret: false) }
    }

    mutating func set(_ key: String, _ value: Bool?) {
        if let value { values[AbsoluteConfigKey(ConfigKey(key))] = ConfigValue(.bool(value), isSecret: false) }
    }
}

extension ConfigReader {
    /// The processor's configuration: parsed options first, then environment variables (then each
    /// key's default).
    static func processor(options: [AbsoluteConfigKey: ConfigValue], environment: [String: String]? = nil) -> ConfigReader {
        let arguments = InMemoryProvider(name: "arguments", values: options)
        if let environment {
            return ConfigReader(providers: [arguments, EnvironmentVariablesProvider(environmentVariables: environment)])
        }
        return ConfigReader(providers: [arguments, EnvironmentVariablesProvider()])
    }
}
