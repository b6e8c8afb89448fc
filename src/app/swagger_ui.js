// Swagger UI's initializer, served by tokenmint in place of the vendored one: app/swagger_ui.rs
// writes the configuration (the document's URL, no validator) where CONFIG is, and the plugin
// below corrects two behaviours of the vendored Swagger UI (5.17) that the document cannot.
'use strict';

const CONFIG = {};

/**
 * - No stray server selector. The document declares no `servers` (every route is called on the
 *   origin serving this page), but Swagger UI's OpenAPI 3.1 resolver gives every path and
 *   operation the default server `/`, which it then offers in each operation as a "Servers"
 *   selector overriding the global choice (swagger-api/swagger-ui#9947). An operation shows
 *   servers only where the document itself declares them.
 * - The Authorize dialog opens at its first scheme. Every scheme's input asks for the focus as
 *   the dialog opens and the last one wins, which scrolls the dialog to its bottom; once it is
 *   shown, the first input takes the focus and the list goes back to its top.
 */
function tokenmintPlugin() {
  return {
    wrapComponents: {
      OperationServers: (Original, { React, specSelectors }) => (props) => {
        const path = specSelectors.specJson().getIn(['paths', props.path]);
        const declared = path && (path.get('servers') || path.getIn([props.method, 'servers']));
        return declared ? React.createElement(Original, props) : null;
      },
      authorizationPopup: (Original, { React }) => class AuthorizationFromTheTop extends React.Component {
        componentDidMount() {
          const content = document.querySelector('.dialog-ux .modal-ux-content');
          if (!content) {
            return;
          }
          const first = content.querySelector('input');
          if (first) {
            first.focus({ preventScroll: true });
          }
          content.scrollTop = 0;
        }

        render() {
          return React.createElement(Original, this.props);
        }
      },
    },
  };
}

window.onload = () => {
  window.ui = SwaggerUIBundle({
    ...CONFIG,
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl, tokenmintPlugin],
  });
};
