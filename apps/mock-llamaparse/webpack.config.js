const { composePlugins, withNx } = require('@nx/webpack');

// Bundles the app with the libs it imports; node_modules stay external.
module.exports = composePlugins(withNx({ target: 'node' }), (config) => config);
