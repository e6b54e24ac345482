/**
 * The parts of Home Assistant's MQTT discovery schema that bambucam's entities use
 * (https://www.home-assistant.io/integrations/mqtt/ and the image, binary_sensor and sensor pages):
 * allowed keys per platform, required keys, and the enumerations. Returns the problems found.
 */
const COMMON = new Set([
  'name',
  'unique_id',
  'availability',
  'availability_mode',
  'availability_topic',
  'availability_template',
  'payload_available',
  'payload_not_available',
  'device',
  'origin',
  'entity_category',
  'icon',
  'object_id',
  'default_entity_id',
  'enabled_by_default',
  'json_attributes_topic',
  'json_attributes_template',
  'qos',
  'encoding',
  'entity_picture',
  'platform',
]);
const PLATFORM: Record<string, { allowed: string[]; required: string[] }> = {
  image: {
    allowed: ['url_topic', 'url_template', 'image_topic', 'image_encoding', 'content_type'],
    required: [],
  },
  binary_sensor: {
    allowed: [
      'state_topic',
      'device_class',
      'payload_on',
      'payload_off',
      'value_template',
      'expire_after',
      'force_update',
      'off_delay',
    ],
    required: ['state_topic'],
  },
  sensor: {
    allowed: [
      'state_topic',
      'unit_of_measurement',
      'state_class',
      'device_class',
      'suggested_display_precision',
      'value_template',
      'expire_after',
      'force_update',
      'last_reset_value_template',
      'options',
    ],
    required: ['state_topic'],
  },
};
const DEVICE_KEYS = new Set([
  'identifiers',
  'connections',
  'name',
  'manufacturer',
  'model',
  'model_id',
  'serial_number',
  'sw_version',
  'hw_version',
  'configuration_url',
  'suggested_area',
  'via_device',
]);
const BINARY_SENSOR_CLASSES = new Set([
  'battery',
  'battery_charging',
  'carbon_monoxide',
  'cold',
  'connectivity',
  'door',
  'garage_door',
  'gas',
  'heat',
  'light',
  'lock',
  'moisture',
  'motion',
  'moving',
  'occupancy',
  'opening',
  'plug',
  'power',
  'presence',
  'problem',
  'running',
  'safety',
  'smoke',
  'sound',
  'tamper',
  'update',
  'vibration',
  'window',
]);
const STATE_CLASSES = new Set(['measurement', 'measurement_angle', 'total', 'total_increasing']);
const TOPIC = /^[^#+\s]+$/;

export function haSchemaProblems(component: string, config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const platform = PLATFORM[component];
  if (!platform) return [`unknown platform ${component}`];
  for (const key of Object.keys(config))
    if (!COMMON.has(key) && !platform.allowed.includes(key))
      problems.push(`${component}: unknown key ${key}`);
  for (const key of platform.required)
    if (typeof config[key] !== 'string') problems.push(`${component}: ${key} missing`);
  for (const [key, value] of Object.entries(config))
    if (key.endsWith('_topic') && (typeof value !== 'string' || !TOPIC.test(value)))
      problems.push(`${component}: ${key} is not a publishable topic`);
  if (typeof config.unique_id !== 'string' || !config.unique_id) problems.push('unique_id missing');
  if (component === 'image') {
    const n = ['url_topic', 'image_topic'].filter((k) => k in config).length;
    if (n !== 1) problems.push('image: exactly one of url_topic and image_topic is required');
    if ('content_type' in config && !('image_topic' in config))
      problems.push('image: content_type needs image_topic');
  }
  if (
    component === 'binary_sensor' &&
    config.device_class !== undefined &&
    !BINARY_SENSOR_CLASSES.has(String(config.device_class))
  )
    problems.push(`binary_sensor: device_class ${config.device_class} unknown`);
  if (config.state_class !== undefined && !STATE_CLASSES.has(String(config.state_class)))
    problems.push(`state_class ${config.state_class} unknown`);
  if (
    config.entity_category !== undefined &&
    !['config', 'diagnostic'].includes(String(config.entity_category))
  )
    problems.push(`entity_category ${config.entity_category} unknown`);
  const availability = config.availability;
  if (availability !== undefined) {
    if (!Array.isArray(availability) || availability.some((a) => typeof a?.topic !== 'string'))
      problems.push('availability must be a list of { topic }');
  }
  const device = config.device as Record<string, unknown> | undefined;
  if (device) {
    for (const key of Object.keys(device))
      if (!DEVICE_KEYS.has(key)) problems.push(`device: unknown key ${key}`);
    const ids = device.identifiers;
    if (!(Array.isArray(ids) && ids.length > 0) && !Array.isArray(device.connections))
      problems.push('device: identifiers or connections required');
    if (
      device.configuration_url !== undefined &&
      !/^(https?|homeassistant):\/\//.test(String(device.configuration_url))
    )
      problems.push('device: configuration_url must be an http(s) URL');
  }
  const origin = config.origin as Record<string, unknown> | undefined;
  if (origin && typeof origin.name !== 'string') problems.push('origin: name required');
  return problems;
}
