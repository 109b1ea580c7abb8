/*
 * The harness's stand-in for the model-driven form runtime: builds a PCF context (parameters, mode, resources,
 * formatting, utils, webAPI, userSettings…), lets the control register itself through
 * `ComponentFramework.registerControl` as a built bundle does, renders what `updateView` returns with the
 * platform's ReactDOM, and calls `updateView` again when the form column is resized. Plain browser JavaScript,
 * served as is.
 */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('harness-config').textContent);
  var registered = {};
  window.ComponentFramework = {
    registerControl: function (name, ctor) {
      registered[name] = ctor;
    },
  };

  var PRIVILEGES = {
    1: 'Create',
    2: 'Read',
    3: 'Write',
    4: 'Delete',
    5: 'Assign',
    6: 'Share',
    7: 'Append',
    8: 'AppendTo',
  };
  var locale = config.languageId === 1031 ? 'de-DE' : 'en-US';

  function entitySet(logicalName) {
    var set = config.entitySets[logicalName];
    if (!set) throw new Error('Unknown table ' + logicalName);
    return set;
  }

  function headers(extra) {
    var h = {
      Accept: 'application/json',
      'OData-MaxVersion': '4.0',
      'OData-Version': '4.0',
      Prefer: 'odata.include-annotations="*"',
    };
    if (config.userId) h.MSCRMCallerID = config.userId;
    for (var k in extra) h[k] = extra[k];
    return h;
  }

  /** Rejects as the platform does: an Error with Dataverse's message, `code` (hex) and `errorCode` (number). */
  function fail(response) {
    return response.text().then(function (text) {
      var body = {};
      try {
        body = JSON.parse(text).error || {};
      } catch {
        body = { message: text };
      }
      var error = new Error(body.message || 'HTTP ' + response.status);
      error.code = body.code;
      error.errorCode = body.code ? parseInt(body.code, 16) | 0 : response.status;
      error.status = response.status;
      throw error;
    });
  }

  function request(method, path, body, extra) {
    var init = { method: method, headers: headers(extra || {}) };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(config.apiRoot + path, init).then(function (response) {
      return response.ok ? response : fail(response);
    });
  }

  function idFromEntityId(response) {
    var header = response.headers.get('OData-EntityId') || '';
    var match = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(header);
    return match ? match[1] : '';
  }

  var webAPI = {
    createRecord: function (entityType, data) {
      return request('POST', entitySet(entityType), data).then(function (response) {
        return { id: idFromEntityId(response), entityType: entityType };
      });
    },
    updateRecord: function (entityType, id, data) {
      return request('PATCH', entitySet(entityType) + '(' + id + ')', data, { 'If-Match': '*' }).then(
        function () {
          return { id: id, entityType: entityType };
        },
      );
    },
    deleteRecord: function (entityType, id) {
      return request('DELETE', entitySet(entityType) + '(' + id + ')').then(function () {
        return { id: id, entityType: entityType };
      });
    },
    retrieveRecord: function (entityType, id, options) {
      return request('GET', entitySet(entityType) + '(' + id + ')' + (options || '')).then(
        function (response) {
          return response.json();
        },
      );
    },
    retrieveMultipleRecords: function (entityType, options, maxPageSize) {
      var extra = maxPageSize
        ? { Prefer: 'odata.include-annotations="*",odata.maxpagesize=' + maxPageSize }
        : {};
      return request('GET', entitySet(entityType) + (options || ''), undefined, extra)
        .then(function (response) {
          return response.json();
        })
        .then(function (body) {
          return { entities: body.value, nextLink: body['@odata.nextLink'] };
        });
    },
  };

  function formatNumber(value, digits) {
    return new Intl.NumberFormat(locale, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(value);
  }

  var container = document.getElementById('control');
  var column = document.getElementById('form-column');
  var trackResize = false;
  var control;
  var context;

  function parameters() {
    var bag = {};
    config.properties.forEach(function (p) {
      var raw =
        p.name in config.parameters
          ? config.parameters[p.name]
          : p.defaultValue !== undefined
            ? Number(p.defaultValue) || p.defaultValue
            : null;
      bag[p.name] = {
        raw: raw,
        formatted: raw === null ? '' : String(raw),
        error: false,
        errorMessage: '',
        type: p.ofType,
        security:
          p.usage === 'bound'
            ? config.security || { readable: true, editable: true, secured: false }
            : undefined,
      };
    });
    return bag;
  }

  function buildContext() {
    return {
      parameters: parameters(),
      webAPI: webAPI,
      mode: {
        allocatedWidth: column.clientWidth,
        allocatedHeight: -1,
        isControlDisabled: config.disabled,
        isVisible: true,
        label: config.control,
        setControlState: function () {},
        setFullScreen: function () {},
        trackContainerResize: function (value) {
          trackResize = value;
        },
        contextInfo: { entityId: config.entityId, entityTypeName: config.entityTypeName },
      },
      page: { entityId: config.entityId, entityTypeName: config.entityTypeName },
      resources: {
        getString: function (id) {
          return Object.prototype.hasOwnProperty.call(config.strings, id) ? config.strings[id] : id;
        },
        getResource: function (id, success, failure) {
          failure();
        },
      },
      formatting: {
        formatCurrency: function (value, precision, symbol) {
          var digits = precision === undefined ? 2 : precision;
          return (symbol ? symbol + '\u00a0' : '') + formatNumber(value, digits);
        },
        formatDecimal: function (value, precision) {
          return formatNumber(value, precision === undefined ? 2 : precision);
        },
        formatInteger: function (value) {
          return formatNumber(value, 0);
        },
        formatDateShort: function (date, includeTime) {
          var options = { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' };
          if (includeTime) {
            options.hour = '2-digit';
            options.minute = '2-digit';
          }
          return new Intl.DateTimeFormat(locale, options).format(date);
        },
        formatDateLong: function (date) {
          return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' }).format(date);
        },
      },
      utils: {
        hasEntityPrivilege: function (table, privilege) {
          if (!config.privileges) return true;
          var granted = config.privileges[table] || [];
          return granted.indexOf(PRIVILEGES[privilege]) >= 0;
        },
        getEntityMetadata: function () {
          return Promise.reject(new Error('getEntityMetadata is not available in the harness'));
        },
        lookupObjects: function () {
          return Promise.reject(new Error('lookupObjects is not available in the harness'));
        },
      },
      userSettings: {
        userId: config.userId ? '{' + config.userId.toUpperCase() + '}' : '',
        userName: 'Harness User',
        languageId: config.languageId,
        isRTL: false,
        securityRoles: [],
        getTimeZoneOffsetMinutes: function () {
          return 0;
        },
      },
      client: {
        disableScroll: false,
        getFormFactor: function () {
          return column.clientWidth < 600 ? 3 : 1;
        },
        getClient: function () {
          return 'Web';
        },
        isOffline: function () {
          return false;
        },
        isNetworkAvailable: function () {
          return true;
        },
      },
      navigation: {
        openUrl: function (url) {
          window.open(url, '_blank', 'noopener');
        },
      },
      factory: {
        requestRender: function () {
          render();
        },
      },
      updatedProperties: [],
      events: {},
    };
  }

  var renders = 0;
  function render() {
    context.mode.allocatedWidth = column.clientWidth;
    renders += 1;
    window.ReactDOM.render(control.updateView(context), container);
  }

  window.PcfHost = {
    start: function () {
      var Control = registered[config.control];
      if (!Control) {
        container.textContent = 'The bundle did not register ' + config.control + '.';
        return;
      }
      control = new Control();
      context = buildContext();
      control.init(context, function () {}, {}, container);
      render();
      if (window.ResizeObserver) {
        new ResizeObserver(function () {
          if (trackResize) render();
        }).observe(column);
      }
    },
    /** Calls updateView again, as the platform does whenever it likes (tests count the requests it costs). */
    rerender: function () {
      render();
      return renders;
    },
    renders: function () {
      return renders;
    },
    setWidth: function (width) {
      column.style.width = width + 'px';
    },
  };
})();
