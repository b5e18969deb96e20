// Mounts GraphiQL against this server's /graphql (the API key goes in the
// Headers tab: {"Authorization": "Bearer sk_..."}).
(function () {
  var fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      defaultHeaders: '{"Authorization": "Bearer <your API key>"}',
    })
  );
})();
